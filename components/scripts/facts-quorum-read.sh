# what this node runs (facts.sh), printed; its quorum facts into the datastore check's variables
facts=$({{print_facts}})
printf '%s\n' "$facts"
quorum=""; voters=""; dqlite=""
while read -r tag _ name value; do
  [ "$tag" = FACT ] || continue
  case $name in
    quorum) quorum=$value ;;
    voters) voters=$value ;;
    dqlite) dqlite=$value ;;
  esac
done <<< "$facts"
