#!/usr/bin/env bash
# `make lab`: the real Pulumi CLI runs the program against a fresh 3-node lab site over real SSH:
# a preview, a fresh `pulumi up`, one with no change, then a request through HAProxy.
# The lab is taken down at the end (KEEP=1 leaves it running).
set -euo pipefail
cd "$(dirname "$0")/.."
lab=${LAB:-/tmp/elma365-lab}
py=.venv/bin/python
if [ "${KEEP:-0}" != 1 ]; then trap '$py -m lab.site down "$lab" >/dev/null' EXIT; fi
# a new lab is a new, empty cluster: its stack starts without state too
rm -rf "$lab/stack"
$py -m lab.site up "$lab" --nodes 3 --durations '{"install": 3, "join": 1, "update_hamode": 1}' >/dev/null
# the addresses move with ELMA365_LAB_NET (127.<n>.0.x)
read -r nodes haproxy < <($py -c 'import json, sys; i = json.load(open(sys.argv[1]))
print(",".join(n["address"] for n in i["nodes"]), i["haproxy"]["address"])' "$lab/site.json")
echo "== lab site up in $lab: elma365-1..3 at $nodes, HAProxy at $haproxy"
echo "== pulumi preview (what will run where; nothing runs)"
$py -m lab.runner preview --lab "$lab"
echo "== pulumi up (fresh deploy)"
$py -m lab.runner up --lab "$lab"
echo "== pulumi up (no change: nothing may run)"
$py -m lab.runner up --lab "$lab"
echo "== GET http://$haproxy/ through HAProxy"
# HAProxy takes a node in after `rise` good checks, so give it a few seconds after the roll-out
curl -fsS --retry 10 --retry-all-errors --retry-delay 1 "http://$haproxy/"
echo
