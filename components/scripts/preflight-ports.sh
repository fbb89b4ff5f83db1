# ports: before the install nothing listens on the main node, so "connection refused" means the
# path is open; a timeout means something drops the packets. All ports are probed at once.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
for port in {{ports}}; do
  ( if out=$(timeout {{timeout}} bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe {{main}} "$port" 2>&1); then
      echo "ok something listens on {{main_text}}:$port"
    else
      rc=$?
      if [ "$rc" -eq 124 ]; then echo "fail {{main_text}}:$port timed out after {{timeout}}s (filtered?)"
      elif [[ "$out" == *"Connection refused"* ]]; then echo "ok {{main_text}}:$port reachable (refused: nothing listens yet)"
      else echo "fail {{main_text}}:$port: $(printf '%s' "$out" | tail -n 1 | sed 's/^.*: //')"
      fi
    fi > "$probe_dir/$port" ) &
done
wait
for port in {{ports}}; do
  read -r status detail < "$probe_dir/$port" || { status=fail; detail="no result"; }
  report "port-$port" "$status" "$detail"
done
