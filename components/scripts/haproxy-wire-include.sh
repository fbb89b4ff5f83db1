if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  mkdir -p "$(dirname {{drop_in}})"
  if ! printf '%b' {{wanted}} | cmp -s - {{drop_in}}; then
    printf '%b' {{wanted}} > {{drop_in}}
    systemctl daemon-reload
  fi
fi
