{{applied_guard}}
elma365ctl restart
{{record_applied}}
echo "ELMA365 services restarted"
