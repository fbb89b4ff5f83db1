# HAProxy's admin socket (this program's `stats socket`) on this balancer, and one server's row of `show stat`
sock={{admin_socket}}
admin() {
  if command -v socat >/dev/null 2>&1; then
    printf '%s\n' "$1" | socat -t 5 stdio "unix-connect:$sock"
  else
    python3 -c {{admin_py}} "$sock" "$1"
  fi
}
server_stat() { # column
  admin "show stat" | awk -F, -v px={{backend}} -v sv={{node}} -v want="$1" '
    NR == 1 { sub(/^# /, ""); for (i = 1; i <= NF; i++) col[$i] = i; next }
    $1 == px && $2 == sv { print $(col[want]) }'
}
if [ ! -S "$sock" ]; then
  echo "WARNING: HAProxy on {{host_text}} has no admin socket at {{admin_socket_text}} (its config is not this program's): it goes on sending {{node_text}} requests until its health checks take it out" >&2
  exit 0
fi
if ! command -v socat >/dev/null 2>&1 && ! command -v python3 >/dev/null 2>&1; then
  echo "WARNING: neither socat nor python3 on {{host_text}}: HAProxy's admin socket cannot be used, and it goes on sending {{node_text}} requests until its health checks take it out" >&2
  exit 0
fi
if [ -z "$(server_stat status)" ]; then
  echo "WARNING: HAProxy on {{host_text}} has no server {{backend_text}}/{{node_text}}: nothing to take out of service" >&2
  exit 0
fi
