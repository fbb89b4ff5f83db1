# what a node reports it runs: one `FACT <node> <name> <value>` line each (components/facts/)
fact() { echo "FACT {{node}} $*"; }
