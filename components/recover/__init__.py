"""`make recover STACK=<name> SURVIVORS=<node,...>`: a datastore that lost its quorum brought back
under the operator's hand, outside `pulumi up` (docs/lost-quorum.md).

    raftlog.py   what a node's backend folder holds (runs on the node: address, ID, last index and term)
    plan.py      the plan, from what the nodes hold: lost nodes, the newest survivor, each step (pure)
    cli.py       reads the stack config and every reachable node, prints the plan, asks, runs it over SSH
"""
