{{applied_guard}}
{{quorum_gate}}
elma365ctl restart
{{record_applied}}
echo "ELMA365 services restarted"
