{{applied_guard}}
{{private_driver}}
{{ensure_expect}}
{{quorum_gate}}
{{datastore_backup}}
echo "reconfiguring ELMA365 on {{main_text}}"
expect -f "$driver" -- elma365ctl reconfigure
{{record_applied}}
{{forget_counts}}
