"""The checks of the nodes and their MicroK8s: reachable, running, in the cluster and Ready, one
version (and channel) everywhere, the datastore's voters, the kubeconfig (what components/facts/
microk8s.py read; the channel and the datastore's members as the preflight reads them)."""
from __future__ import annotations

from typing import Optional

from ... import names
from ...facts.microk8s import Quorum, parse_channel, parse_kubeconfig_summary, parse_microk8s_version, parse_quorum
from ...facts.node import LONE_DATASTORE, datastore_address
from ...facts.sections import last_line
from ...site import Node
from ..repairs import channel_pin_repair, departure_repair, manual, ssh_repair
from .base import Checks


def channel_of(c: Checks, node: Node) -> Optional[str]:
    """The snap channel the node's MicroK8s tracks (the preflight's `microk8s` fact), if read."""
    s = c.section(node.name, names.READ_CHANNEL)
    return parse_channel(s.out) if s is not None else None


def reachability(c: Checks) -> None:
    for node in c.active:
        out = c.hosts.get(node.name)
        if out and out.reachable:
            c.add(node.name, "reachable over SSH", "yes", "yes", True)
        else:
            error = out.error if out else "not checked"
            c.add(node.name, "reachable over SSH", "yes",
                  f"unreachable ({error}); its own checks did not run", False, c.unreachable(node))


def microk8s_running(c: Checks) -> None:
    for node in c.active:
        s = c.section(node.name, names.READ_STATUS)
        if s is None:
            continue
        status = c.node_status[node.name]
        if status.running:
            c.add(node.name, "MicroK8s running", "running", "running", True)
        else:
            found = "not running" if "not running" in s.out else f"unknown: {last_line(s)}"
            q = quorum_of(c, node)
            if q is not None and q.own == "down":
                found += " (stopped: its datastore does not answer)"
            elif q is not None and q.state == "lost":
                found += " (its datastore has no quorum)"
            c.add(node.name, "MicroK8s running", "running", found, False, c.node_repair(node))


def quorum_of(c: Checks, node: Node) -> Optional[Quorum]:
    s = c.section(node.name, names.READ_QUORUM)
    return parse_quorum(s.out) if s is not None else None


def quorum(c: Checks) -> None:
    """Whether the datastore has a leader (a majority of its voters answers), as the reachable nodes
    read it; a lost quorum is repaired by hand (docs/lost-quorum.md), never by `pulumi up`."""
    check, expected = "datastore quorum", "a leader (a majority of the voters answers)"
    seen = {n.name: q for n in c.active if (q := quorum_of(c, n)) is not None and q.state != "none"}
    if not seen:
        c.add("cluster", check, expected, "not checked: no reachable node keeps a datastore", None)
        return
    lost = {name: q for name, q in seen.items() if q.state == "lost"}
    name, q = next(iter((lost or seen).items()))
    found = (f"voters answering: {' '.join(q.answering) or 'none'}; not answering: {' '.join(q.silent) or 'none'} "
             f"(read on {name})")
    if lost:
        survivors = ",".join(n.name for n in c.active if datastore_address(n) in q.answering) or "<node>,..."
        c.add("cluster", check, expected, "LOST: " + found, False,
              manual(f"quorum lost: nothing is changed by pulumi up; recover by hand (docs/lost-quorum.md): "
                     f"make recover STACK=<stack> SURVIVORS={survivors}"))
    elif any(q.state == "ok" for q in seen.values()):
        c.add("cluster", check, expected, "holds: " + found, True)
    else:
        c.add("cluster", check, expected, "unknown: " + found, None)


def ready(c: Checks) -> None:
    for node in c.active:
        check = "in the cluster and Ready"
        if c.kube_nodes is None:
            c.add(node.name, check, "Ready", f"not checked: {c.kube_error}", None)
            continue
        state = c.kube_nodes.get(node.name)
        if state is None:
            c.add(node.name, check, "Ready", "not in the cluster (kubectl get nodes)", False,
                  c.node_repair(node))
        elif state[0] == "Ready":
            c.add(node.name, check, "Ready", "Ready", True)
        elif state[0].split(",")[0] == "Ready":
            c.add(node.name, check, "Ready", state[0], False,
                  ssh_repair(c.site, c.main.name, f"microk8s kubectl uncordon {node.name}"))
        else:
            c.add(node.name, check, "Ready", state[0], False, c.node_repair(node))
    if c.kube_nodes is not None:
        wanted = {n.name for n in c.active}
        extra = sorted(set(c.kube_nodes) - wanted)
        c.add("cluster", "no node beyond the config", "none", ", ".join(extra) or "none", not extra,
              departure_repair(c.site, c.ctx, extra))


def datastore(c: Checks) -> None:
    status = c.node_status.get(c.main.name)
    where = "cluster"
    if status is None:
        c.add(where, "datastore voters (microk8s status)", "every active node", "not checked: the main node "
              "is unreachable", None)
        return
    if not status.running:
        c.add(where, "datastore voters (microk8s status)", "every active node",
              "not checked: MicroK8s is not running on the main node", None)
        return
    by_address = {datastore_address(n): n for n in c.active}
    # A cluster of one (nobody ever joined) keeps its datastore on 127.0.0.1, as a lone MicroK8s
    # does; on the main node that voter is the main node itself.
    own = datastore_address(c.main)
    voters = tuple(own if a == LONE_DATASTORE else a for a in status.masters)
    members = set(voters) | set(status.standby)
    missing = [by_address[a] for a in by_address if a not in members]
    n = len(c.active)
    need = min(n, 3)
    expected = (f"{need}+ of {', '.join(by_address)}" if n >= 3 else ", ".join(by_address))
    found = f"{len(status.masters)}: {' '.join(status.masters) or 'none'}"
    if status.standby:
        found += f" (standby: {' '.join(status.standby)})"
    extra = sorted(a for a in members if a not in by_address)
    ok = not missing and not extra and len(voters) >= (need if n >= 3 else 1)
    repair = None
    if missing:
        repair = c.node_repair(missing[0]) if missing[0] == c.main else c.rejoin(missing[0])
    elif extra:
        repair = manual(f"datastore members {', '.join(extra)} are no node of the config: add their entries with "
                        f"`decommission: true` and run `pulumi up`")
    elif not ok:
        repair = manual("fewer datastore voters than MicroK8s keeps with 3+ nodes: the nodes above that are not "
                        "in service come first; MicroK8s promotes voters by itself")
    c.add(where, "datastore voters (microk8s status)", expected, found, ok, repair)
    want_ha = "yes" if n >= 3 else "no"
    got_ha = status.high_availability or "(not printed)"
    c.add(where, "MicroK8s high-availability", want_ha, got_ha,
          None if status.high_availability is None else got_ha == want_ha,
          repair or manual("MicroK8s sets high-availability by its voters: see the rows above"))


def versions(c: Checks) -> None:
    main_version = c.section(c.main.name, names.READ_VERSION)
    reference = parse_microk8s_version(main_version.out) if main_version else None
    tracking = channel_of(c, c.main)
    pin = getattr(c.site.install, "microk8s_channel", None)
    for node in c.active:
        s = c.section(node.name, names.READ_VERSION)
        if s is None:
            # unreachable: the main node's `kubectl get nodes` still tells its kubelet's version
            listed = (c.kube_nodes or {}).get(node.name)
            if listed and listed[1] and reference is not None and node != c.main:
                ok = listed[1] == reference[0]
                c.add(node.name, "MicroK8s version", f"{reference[0]} (as {c.main.name})",
                      f"{listed[1]} (kubectl get nodes on {c.main.name})", ok,
                      c.unreachable(node) if not ok else None)
            continue
        mine = parse_microk8s_version(s.out)
        channel = channel_of(c, node)
        found = (f"{mine[0]} (rev {mine[1]}" + (f", {channel}" if channel else "") + ")") if mine else \
            f"unknown: {last_line(s)}"
        if node == c.main:
            if pin and channel and channel != pin:
                c.add(node.name, "MicroK8s version", f"{pin} (install.microk8sChannel)", found, False,
                      channel_pin_repair(c.ctx, channel, pin))
            else:
                c.add(node.name, "MicroK8s version", "the same on every node (this is the reference)",
                      found, True if mine else None)
            continue
        if reference is None:
            c.add(node.name, "MicroK8s version", "the main node's (unknown)", found, None)
            continue
        expected = f"{reference[0]} (as {c.main.name}" + (f", {tracking}" if tracking else "") + ")"
        ok = bool(mine) and mine[0] == reference[0]
        repair = (ssh_repair(c.site, node.name, f"snap refresh microk8s --channel={tracking}") if tracking else
                  manual(f"the main node's snap channel is unknown (snap list microk8s): refresh {node.name}'s "
                         f"MicroK8s to {reference[0]}"))
        c.add(node.name, "MicroK8s version", expected, found, ok, repair)


def refreshes_held(c: Checks) -> None:
    """snapd refreshes a MicroK8s whose refreshes are not held on its own schedule (the program holds
    them on every node after its install or join; a hold can be lifted by hand)."""
    for node in c.active:
        s = c.section(node.name, names.READ_HELD)
        if s is None:
            continue
        found = s.out.strip()
        if not found:
            c.add(node.name, "MicroK8s refreshes held (snap list)", "held", "MicroK8s is no snap here", None)
            continue
        c.add(node.name, "MicroK8s refreshes held (snap list)", "held", found, found == "held",
              ssh_repair(c.site, node.name, "snap refresh --hold microk8s"))


def kubeconfig(c: Checks) -> None:
    check = "kubeconfig readable (microk8s config)"
    s = c.section(c.main.name, names.READ_KUBECONFIG)
    expected = "a kubeconfig with a server and credentials"
    if s is None:
        c.add(c.main.name, check, expected, "not checked: the main node is unreachable", None)
        return
    summary = parse_kubeconfig_summary(s.out)
    ok = s.rc == 0 and summary.get("kind") == "Config" and bool(summary.get("server")) and "credentials" in summary
    found = (f"readable: server {summary['server']}, credentials ({summary['credentials']})" if ok else
             f"not readable: {last_line(s) or 'no server or credentials in it'}")
    c.add(c.main.name, check, expected, found, ok, c.node_repair(c.main))

