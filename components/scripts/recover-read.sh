# recover: what this node's datastore holds, from its files (components/recover/raftlog.py on stdin)
if ! command -v python3 >/dev/null 2>&1; then
  echo "ERROR: python3 is missing on this node: its datastore cannot be read" >&2
  exit 1
fi
python3 - {{backend}}
