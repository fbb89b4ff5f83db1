{{quorum_gate}}
{{datastore_backup}}
microk8s remove-node {{node}} --force
echo "{{node_text}} removed from the cluster (forced: it was declared dead)"
