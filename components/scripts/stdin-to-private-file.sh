umask 077
workdir=$(mktemp -d /tmp/elma365-cluster.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
{{var}}="$workdir/{{name}}"
cat > "${{var}}"
