# {{check}}: {{why_text}}; its script reads as root and says why on its last line
if out=$({{as_root}} 2>&1); then
  report {{check}} ok "$(printf '%s\n' "$out" | tail -n 1)"
else
  report {{check}} fail "$(printf '%s\n' "$out" | tail -n 1 | sed 's/^ERROR: //')"
fi
