if ! command -v haproxy >/dev/null 2>&1; then
  {{ensure_haproxy}}
  # a package install does not start HAProxy everywhere (dnf, yum): enable and start it
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl enable --now haproxy; fi
fi
v=$(haproxy -v 2>&1)
printf '%s\n' "${v%%$'\n'*}"
