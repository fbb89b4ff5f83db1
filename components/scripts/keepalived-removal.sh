# shellcheck shell=bash
# This balancer leaves the virtual IP: keepalived gets the host's own config back (or an empty one),
# so it releases the address at once, and the program's config is kept as a disabled file.
cfg={{config_path}}
reload={{reload_command}}
managed={{managed}}
before={{before}}
disabled={{disabled}}
if [ ! -f "$cfg" ] || ! grep -qF "$managed" "$cfg"; then
  echo "the live keepalived config is not elma365-cluster's; nothing to take off"
  exit 0
fi
cp -p "$cfg" "$cfg$disabled"
if [ -f "$cfg$before" ]; then
  cp -p "$cfg$before" "$cfg"
else
  printf '%s\n' "# elma365-cluster took its VRRP instance off this host (kept as $cfg$disabled)" > "$cfg"
fi
if ! bash -c "$reload"; then
  cp -p "$cfg$disabled" "$cfg"
  echo "ERROR: reload failed: $reload; elma365-cluster's keepalived config is live again" >&2
  exit 1
fi
rm -f "$cfg$before" "$cfg$before.none"
echo "keepalived: this host no longer holds the virtual IP; elma365-cluster's config is kept as $cfg$disabled"
