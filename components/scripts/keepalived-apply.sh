# shellcheck shell=bash
# keepalived on this balancer: its VRRP instance for the virtual IP, health-checked by HAProxy's port.
# The new config is checked with `keepalived -t` beside the live one, and only a valid one replaces it.
cfg={{config_path}}
check={{check_path}}
reload={{reload_command}}
{{ensure_keepalived}}
umask 077
mkdir -p "$(dirname "$cfg")"
new=$(mktemp "$cfg.new.XXXXXX")
newcheck=$(mktemp "$check.new.XXXXXX")
trap 'rm -f "$new" "$newcheck"' EXIT
printf '%s' {{config}} > "$new"
printf '%s' {{check_script}} > "$newcheck"
chmod 600 "$new"
chmod 755 "$newcheck"
if [ -f "$cfg" ] && cmp -s "$new" "$cfg" && [ -f "$check" ] && cmp -s "$newcheck" "$check"; then
  echo "keepalived config unchanged"
  exit 0
fi
# the check script first: the config names it, and keepalived refuses a script it cannot run
mv -f "$newcheck" "$check"
if ! out=$(keepalived -t -f "$new" 2>&1); then
  echo "ERROR: keepalived rejected the new config; the live one is unchanged:" >&2
  printf '%s\n' "$out" | sed "s|$new|$cfg (new)|g" >&2
  exit 1
fi
{{keep_own}}
had_cfg=0
if [ -f "$cfg" ]; then cp -p "$cfg" "$cfg.bak"; had_cfg=1; fi
mv -f "$new" "$cfg"
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then systemctl enable keepalived >/dev/null 2>&1 || true; fi
if ! bash -c "$reload"; then
  echo "ERROR: reload failed: $reload; the previous keepalived config is restored" >&2
  if [ "$had_cfg" = 1 ]; then mv -f "$cfg.bak" "$cfg"; else rm -f "$cfg"; fi
  exit 1
fi
echo "keepalived config applied and reloaded"
