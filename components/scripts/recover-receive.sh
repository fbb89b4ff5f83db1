# recover: this survivor takes the source's raft log (a tar on stdin), its own stale log removed
# first (open-*, metadata1/2, segments, snapshots); its info.yaml (its own ID) stays
cd {{backend}} || exit 1
for f in *; do
  if [[ $f =~ ^([0-9]{16}-[0-9]{16}|open-[0-9]+|snapshot-.*|metadata[12])$ ]]; then rm -f -- "$f"; fi
done
tar -xf -
echo "{{node_text}} has the raft log of {{source_text}}"
