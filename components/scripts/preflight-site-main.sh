# site: the installer runs on the main node only where no ELMA365 runs (README: "Take over a site
# that already runs ELMA365"); the other nodes' preflights check that none runs on them
if [ -z "$elma365" ]; then
  report site fail "what runs on {{node_text}} could not be read (see above), so nothing is installed or joined"
elif [ "$marker" = installed ]; then
  report site ok "ELMA365 was installed here by elma365-cluster"
elif [ "$elma365" = present ]; then
  report site {{live_status}} "ELMA365 runs on {{node_text}} ($workloads workloads in namespace {{namespace}}; datastore $datastore), installed without elma365-cluster: {{live_detail}}"
elif [ "$elma365" = unknown ]; then
  report site fail "MicroK8s is installed on {{node_text}} but does not answer (microk8s status), so whether ELMA365 runs here cannot be told and nothing is installed: start it (microk8s start) and run pulumi up again"
elif [ "$membership" = member ]; then
  report site fail "{{node_text}} is a member of a MicroK8s cluster (datastore $datastore) that runs no ELMA365: the installer never runs on a cluster member; if ELMA365 runs on another member, put that node first in elma365:nodes"
else
  report site ok "no ELMA365 here: the installer may run"
fi
