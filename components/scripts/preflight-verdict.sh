if [ -n "$failed" ]; then
  echo "preflight failed on $node: $failed" >&2
  exit 1
fi
echo "PREFLIGHT $node all ok"
