# what this node runs, read as root where the login user is not (facts.sh), into the rules' variables
if ! facts=$({{read_facts}} 2>&1); then
  printf '%s\n' "$facts" | sed 's/^/  /' >&2
  facts=""
fi
marker=""; elma365=""; workloads=""; datastore=""; membership=""; snapd=""; systemhold=""
quorum=""; voters=""; dqlite=""
while read -r tag _ name value; do
  [ "$tag" = FACT ] || continue
  echo "$tag $node $name $value"
  case $name in
    marker) marker=$value ;;
    elma365) elma365=$value ;;
    workloads) workloads=$value ;;
    datastore) datastore=$value ;;
    membership) membership=$value ;;
    snapd) snapd=$value ;;
    systemhold) systemhold=$value ;;
    quorum) quorum=$value ;;
    voters) voters=$value ;;
    dqlite) dqlite=$value ;;
  esac
done <<< "$facts"
