declare -A outputs=()
section() {  # NAME COMMAND [stdin]: COMMAND's output (stdout and stderr) and exit status between markers
  local name=$1 cmd=$2 rc=0 out
  if [ "${3:-}" = stdin ]; then out=$(eval "$cmd" 2>&1) || rc=$?
  else out=$(eval "$cmd" 2>&1 </dev/null) || rc=$?
  fi
  outputs[$name]=$out
  printf '%s\n' "{{mark}} begin $name" "$out" "{{mark}} end $name $rc"
}
derive() {  # NAME FROM FILTER: a fact read by FILTER (components/facts) from section FROM's output
  local name=$1 rc=0 out
  out=$(printf '%s\n' "${outputs[$2]-}" | eval "$3" 2>&1) || rc=$?
  printf '%s\n' "{{mark}} begin $name" "$out" "{{mark}} end $name $rc"
}
T=""; if command -v timeout >/dev/null 2>&1; then T="timeout 60"; fi
