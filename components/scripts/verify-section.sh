section() {  # NAME COMMAND [stdin]
  local name=$1 cmd=$2 rc=0 out
  if [ "${3:-}" = stdin ]; then out=$(eval "$cmd" 2>&1) || rc=$?
  else out=$(eval "$cmd" 2>&1 </dev/null) || rc=$?
  fi
  printf '%s\n' "{{mark}} begin $name" "$out" "{{mark}} end $name $rc"
}
T=""; if command -v timeout >/dev/null 2>&1; then T="timeout 60"; fi
