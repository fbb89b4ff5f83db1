# before the first node of a roll-out: the cluster whole, then a datastore backup. The main node is
# refreshed last, so while it is due the roll-out is not over.
{{due}}
if [ "$due" = no ]; then
  echo "{{node_text}}: MicroK8s $why: no refresh to roll out"
  exit 0
fi
{{gate}}
{{backup}}
echo "rolling refresh of MicroK8s to $want: node by node, {{node_text}} last"
