{{due}}
# the first word tells this node's HAProxy steps whether to take it out of service
if [ "$due" = yes ]; then echo "refresh: {{node_text}} $why"; else echo "current: {{node_text}} $why"; fi
