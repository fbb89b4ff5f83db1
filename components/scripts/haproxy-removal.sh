cfg={{config_path}}
if [ ! -f "$cfg" ] || ! grep -qF {{managed}} "$cfg"; then
  echo "the live HAProxy config is not elma365-cluster's; nothing to take off"
  exit 0
fi
if [ -f "$cfg{{before}}" ]; then
  if ! out=$(haproxy -c -f "$cfg{{before}}" 2>&1); then
    echo "ERROR: the config this host had before elma365-cluster ($cfg{{before}}) does not load; the live one is left in place:" >&2
    printf '%s\n' "$out" >&2
    exit 1
  fi
  cp -p "$cfg" "$cfg{{disabled}}"
  cp -p "$cfg{{before}}" "$cfg"
  reload={{reload_command}}
  if ! bash -c "$reload"; then
    cp -p "$cfg{{disabled}}" "$cfg"
    echo "ERROR: reload failed: $reload; elma365-cluster's config is live again" >&2
    exit 1
  fi
  rm -f "$cfg{{before}}"
  echo "HAProxy: the host's own config is back ($cfg); elma365-cluster's is kept as $cfg{{disabled}}"
else
  mv -f "$cfg" "$cfg{{disabled}}"
  rm -f "$cfg{{before}}.none"
  echo "HAProxy: elma365-cluster's config moved to $cfg{{disabled}}; there was no config before it to restore, so HAProxy keeps serving it until stopped (systemctl stop haproxy)"
fi
