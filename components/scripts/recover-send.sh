# recover: the source's raft log (segments, snapshots, metadata) and cluster.yaml, as a tar on stdout
cd {{backend}} || exit 1
files=()
for f in *; do
  if [[ $f =~ ^([0-9]{16}-[0-9]{16}|open-[0-9]+|snapshot-.*|metadata[12]|cluster\.yaml)$ ]]; then files+=("$f"); fi
done
tar -cf - "${files[@]}"
