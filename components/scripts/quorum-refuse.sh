{{gate}}
if [ -n "$quorum_refused" ]; then
  echo "ERROR: {{what_text}}: refused, nothing changed: $quorum_refused" >&2
  exit 1
fi
echo "quorum for {{what_text}}: $quorum_ok"
