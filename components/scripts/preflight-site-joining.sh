# site: ELMA365 runs on a joining node only as a member of the main node's cluster
member_of_main=no
case " $datastore " in *\ {{main_datastore}}\ *) member_of_main=yes ;; esac
if [ -z "$elma365" ]; then
  report site fail "what runs on {{node_text}} could not be read (see above), so nothing is installed or joined"
elif [ "$member_of_main" = yes ]; then
  report site ok "a member of the cluster of {{main_text}} (datastore $datastore)"
elif [ "$elma365" = present ]; then
  report site fail "ELMA365 runs on {{node_text}} ($workloads workloads in namespace {{namespace}}; datastore $datastore), outside the cluster of {{main_text}}: the installer runs only on nodes[0], and only where no configured node runs ELMA365. If {{node_text}} is where ELMA365 was installed, put it first in elma365:nodes (with elma365:adopt: true to take it over); otherwise take it out of elma365:nodes"
elif [ "$elma365" = unknown ]; then
  if [ "$marker" = joined ]; then
    report site warn "MicroK8s does not answer on {{node_text}} (microk8s status); it joined {{main_text}} before"
  else
    report site fail "MicroK8s is installed on {{node_text}} but does not answer (microk8s status), so whether ELMA365 runs here cannot be told and nothing is installed: start it (microk8s start) and run pulumi up again"
  fi
elif [ "$membership" = member ]; then
  report site fail "{{node_text}} is a member of another MicroK8s cluster (datastore $datastore), not of {{main_text}}'s: run microk8s leave on {{node_text}} first, or take it out of elma365:nodes"
else
  report site ok "no ELMA365 here: {{node_text}} may join {{main_text}}"
fi
