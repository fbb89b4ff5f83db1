# The datastore's voters as a node's dqlite files name them, and whether one answers: the one reader
# of both (facts-datastore.sh, quorum-gate.sh). go-dqlite writes cluster.yaml as a list of
# `- Address: <addr>:19001`, `ID: <n>`, `Role: <0 voter | 1 standby | 2 spare>`.
datastore_voters() {  # CLUSTER_YAML: the voters' endpoints, one a line
  awk '{ sub(/^[ \t-]+/, "") } $1 == "Address:" { a = $2 } $1 == "Role:" && $2 == 0 { print a }' "$1"
}
datastore_answers() {  # HOST:PORT ([v6]:port too): whether its dqlite port takes a connection
  local host=${1%:*} port=${1##*:}
  host=${host#[}; host=${host%]}
  # shellcheck disable=SC2016  # the inner bash expands its own arguments
  timeout {{probe_timeout}} bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe "$host" "$port" >/dev/null 2>&1
}
