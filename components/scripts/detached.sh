runs={{runs_dir}}
mkdir -p "$runs" && chmod 700 "$runs"
run_detached() {  # NAME CMD...: CMD in its own session; its output on stderr; its status returned
  local name=$1; shift
  local log="$runs/$name.log" rc=0
  : > "$log"
  setsid flock "$runs/$name.lock" "$@" < /dev/null > "$log" 2>&1 &
  local pid=$!
  tail -s 0.1 -n +1 -f --pid="$pid" "$log" >&2 &
  local tailer=$!
  wait "$pid" || rc=$?
  wait "$tailer" || true
  return "$rc"
}
waited_for_earlier() {  # NAME: 0 when an earlier session's run of NAME was still under way and has now ended
  [ -e "$runs/$1.lock" ] || return 1
  flock -n "$runs/$1.lock" true && return 1
  echo "$1: a run started by an earlier, interrupted session is still under way; waiting for it to end" >&2
  flock "$runs/$1.lock" true
}
