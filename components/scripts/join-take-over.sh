  if [ ! -f {{joined_marker}} ]; then
    # joined by hand before elma365-cluster came: its settings steps record the config's as applied
    {{take_over_mark}}
    echo "{{node_text}} was a member before elma365-cluster: taken over (elma365:adopt)"
  fi
