node="{{node_text}}"
failed=""
report() { # check status detail...
  local check=$1 status=$2; shift 2
  local line="PREFLIGHT $node $check $status $*"
  echo "$line"
  if [ "$status" = fail ]; then
    echo "$line" >&2
    failed="${failed:+$failed; }$check ($*)"
  fi
}
