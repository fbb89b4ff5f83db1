{{applied_guard}}
{{apply}}
{{record_applied}}
echo "HA settings applied on {{node_text}}"
