{{applied_guard}}
elma365ctl scale {{service}} {{replicas}}
{{record_applied}}
echo "{{service_text}} scaled to {{replicas}} replica(s)"
