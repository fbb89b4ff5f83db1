command -v elma365ctl >/dev/null 2>&1 || { echo "ERROR: elma365ctl is missing on {{node_text}}; HA mode runs 'elma365ctl update-hamode' on every node" >&2; exit 1; }
