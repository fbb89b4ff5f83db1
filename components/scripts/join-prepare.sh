IFS= read -r channel || true
channel_pattern={{channel_pattern}}
if ! [[ "$channel" =~ $channel_pattern ]]; then
  echo "ERROR: no usable MicroK8s channel from {{main_text}} for {{node_text}}: '$channel'" >&2
  exit 1
fi
if command -v microk8s >/dev/null 2>&1; then
  tracking=$({{snap_channel}})
  if [ "$tracking" = "$channel" ] || [ -f {{joined_marker}} ] || {{member_here}}; then
    echo "MicroK8s ($tracking) is already installed on {{node_text}}"
  else
    echo "MicroK8s on {{node_text}} tracks ${tracking:-an unknown channel}; moving it to $channel, as on {{main_text}}"
    snap refresh microk8s --channel="$channel"
  fi
else
  {{ensure_snap}}
  snap install microk8s --classic --channel="$channel"
fi
