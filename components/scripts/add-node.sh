if {{member_on_main}}; then
  echo {{already_member}}
  exit 0
fi
{{quorum_gate}}
{{datastore_backup}}
elma365ctl add-node
