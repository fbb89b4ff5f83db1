# what was there before this program's first config, kept once: removing `{{section}}` restores it
if [ ! -e "$cfg{{before}}" ] && { [ ! -f "$cfg" ] || ! grep -qF {{managed}} "$cfg"; }; then
  if [ -f "$cfg" ]; then cp -p "$cfg" "$cfg{{before}}"; else : > "$cfg{{before}}.none"; fi
fi
