IFS= read -r want || true
[ -n "$want" ] || { echo "ERROR: {{step_text}}: no settings digest on stdin" >&2; exit 1; }
applied={{applied_dir}}/{{step}}
if [ -e "$applied" ]; then have=$(cat "$applied")
elif [ "${ADOPT:-0}" = 1 ]; then have=$want; echo "{{step_text}}: applied by an earlier version of elma365-cluster"
else have={{unset}}
fi
if [ "$have" = "$want" ]; then
  {{record_applied}}
  echo "{{step_text}}: already applied here; nothing to do"
  exit 0
fi
