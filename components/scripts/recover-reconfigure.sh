# recover: the datastore's members become the survivors (cluster.yaml from stdin), written into the
# raft log by dqlite's .reconfigure (microk8s.io/docs/restore-quorum), on the stopped source node
cat > {{backend}}/cluster.yaml.recover
mv -f {{backend}}/cluster.yaml.recover {{backend}}/cluster.yaml
tls=()
if [ -r {{backend}}/cluster.crt ] && [ -r {{backend}}/cluster.key ]; then
  tls=(-c {{backend}}/cluster.crt -k {{backend}}/cluster.key)
fi
{{dqlite}} -s {{address}} "${tls[@]}" k8s ".reconfigure {{backend}}/ {{backend}}/cluster.yaml"
echo "the datastore of {{node_text}} now lists only the survivors"
