cfg={{include_path}}
if [ ! -f "$cfg" ] || ! grep -qF {{managed}} "$cfg"; then
  echo "no elma365-cluster config at $cfg; nothing to take off"
  exit 0
fi
mv -f "$cfg" "$cfg{{disabled}}"
if [ -f {{drop_in}} ]; then rm -f {{drop_in}}; systemctl daemon-reload; fi
reload={{reload_command}}
if ! bash -c "$reload"; then
  mv -f "$cfg{{disabled}}" "$cfg"
  echo "ERROR: reload failed: $reload; elma365-cluster's config is back in place" >&2
  exit 1
fi
echo "HAProxy: elma365-cluster's config is off this host (kept as $cfg{{disabled}}); the host's own config is untouched"
