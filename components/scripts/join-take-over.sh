  if [ ! -f {{joined_marker}} ]; then
    # joined by hand before elma365-cluster came: its settings steps record the config's as applied
    mkdir -p {{applied_dir}} && chmod 700 {{applied_dir}} && touch {{taken_over}}
    echo "{{node_text}} was a member before elma365-cluster: taken over (elma365:adopt)"
  fi
