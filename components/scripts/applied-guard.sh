IFS= read -r want || true
[ -n "$want" ] || { echo "ERROR: {{step_text}}: no settings digest on stdin" >&2; exit 1; }
applied={{applied_dir}}/{{step}}
if [ -e "$applied" ]; then have=$(cat "$applied")
elif [ -e {{taken_over}} ]; then have=$want; echo "{{step_text}}: taken over with elma365:adopt: the config's settings are recorded as applied here, not applied"
else have={{unset}}
fi
if [ "$have" = "$want" ]; then
  {{record_applied}}
  echo "{{step_text}}: already applied here; nothing to do"
  exit 0
fi
