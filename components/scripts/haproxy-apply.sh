{{ensure_haproxy}}
umask 077
cfg={{config_path}}
crt={{crt}}
sep={{separator}}
mkdir -p "$(dirname "$cfg")"
bundle=$(mktemp "$cfg.in.XXXXXX")
new=$(mktemp "$cfg.new.XXXXXX")
check=$(mktemp "$cfg.check.XXXXXX")
newcrt=/dev/null
if [ -n "$crt" ]; then mkdir -p "$(dirname "$crt")"; newcrt=$(mktemp "$crt.new.XXXXXX"); fi
trap 'rm -f "$bundle" "$new" "$check"; [ "$newcrt" = /dev/null ] || rm -f "$newcrt"' EXIT
cat > "$bundle"
awk -v sep="$sep" -v cfg="$new" -v crt="$newcrt" 'BEGIN { out = cfg } $0 == sep { out = crt; next } { print > out }' "$bundle"
chmod 600 "$new"
if [ -f "$cfg" ] && cmp -s "$new" "$cfg" && { [ -z "$crt" ] || { [ -f "$crt" ] && cmp -s "$newcrt" "$crt"; }; }; then
  chmod 600 "$cfg"
  echo "HAProxy config unchanged"
  exit 0
fi
# validate the new config against the new certificate, before anything live is touched
if [ -n "$crt" ]; then
  awk -v a="crt $crt" -v b="crt $newcrt" '{ i = index($0, a); if (i) $0 = substr($0, 1, i - 1) b substr($0, i + length(a)); print }' "$new" > "$check"
else
  cp "$new" "$check"
fi
if ! out=$(haproxy -c {{base}}-f "$check" 2>&1); then
  echo "ERROR: HAProxy rejected the new config; the live one is unchanged:" >&2
  printf '%s\n' "$out" | sed "s|$check|$cfg (new)|g" >&2
  exit 1
fi
had_cfg=0; had_crt=0
{{own_or_include}}
if [ -f "$cfg" ]; then cp -p "$cfg" "$cfg.bak"; chmod 600 "$cfg.bak"; had_cfg=1; fi
if [ -n "$crt" ]; then
  if [ -f "$crt" ]; then cp -p "$crt" "$crt.bak"; chmod 600 "$crt.bak"; had_crt=1; fi
  chmod 600 "$newcrt"; mv -f "$newcrt" "$crt"; newcrt=/dev/null
fi
mv -f "$new" "$cfg"
mkdir -p "$(dirname {{admin_socket}})" {{chroot}}
reload={{reload_command}}
if ! bash -c "$reload"; then
  echo "ERROR: reload failed: $reload; the previous config is restored" >&2
  if [ "$had_cfg" = 1 ]; then mv -f "$cfg.bak" "$cfg"; else rm -f "$cfg"; fi
  if [ -n "$crt" ]; then
    if [ "$had_crt" = 1 ]; then mv -f "$crt.bak" "$crt"; else rm -f "$crt"; fi
  fi
  exit 1
fi
echo "HAProxy config applied and reloaded"
