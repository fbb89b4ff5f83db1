"""What the last successful `pulumi up` left behind, and which changes from it are allowed.

pulumi-command cannot read a host, and a delete runs whatever the state stored, on a server that
may be dead. So no step of this program has a `delete`: a node leaves, or HAProxy gives up a host,
only through steps that run because the config says so. For the changes the config can no longer
say (a node's entry deleted, the `haproxy` section removed), the program compares the config with
the record the previous deployment exported as the stack output `site` (read back through a
StackReference to this very stack), and runs the matching departure.

The record is plain data without secrets: the main node, the active nodes with what it takes to
reach them, and the HAProxy host.
"""
from __future__ import annotations

from typing import Any, Optional

from .site import Site
# the record is a selection of the site model's one projection
from .site_view import RECORD_FORMAT as FORMAT, record_of  # noqa: F401

RECORD_OUTPUT = "site"


def from_outputs(outputs: dict[str, Any]) -> Optional[dict[str, Any]]:
    """The record among a stack's outputs (None for a new stack). What the servers run is read from
    them in the preflight (components/facts/node.py), whatever this record says or lacks."""
    record = outputs.get(RECORD_OUTPUT)
    if isinstance(record, dict) and record.get("format") == FORMAT:
        return record
    return None


def transition_problems(previous: Optional[dict[str, Any]], site: Site) -> list[str]:
    """What this config may not do to the cluster the previous deployment left: each problem says
    what to do instead. Checked before any step exists, so a refused change runs nothing anywhere."""
    if not previous:
        return []
    problems = []
    names = [n.name for n in site.nodes]
    main = previous.get("main")
    if main and main != site.main.name:
        if main in names:
            where = f"it is nodes[{names.index(main)}] now"
        else:
            where = "it is missing from elma365:nodes"
        problems.append(
            f"elma365:nodes[0] is {site.main.name}, but the main node of this site is {main} (ELMA365 was "
            f"installed there and every other node joined it); {where}. Put {main} back first in elma365:nodes: "
            "the main node cannot change")
    before = set(previous.get("active") or [])
    after = {n.name for n in site.active}
    leaving = sorted(before - after - ({main} if main else set()))
    changing = sorted(after - before) + leaving
    if refresh_asked(previous, site) and changing:
        problems.append(
            f"this change asks for a rolling refresh of MicroK8s (elma365:install.microk8sChannel or "
            f"install.microk8sRefresh) and changes the cluster's nodes ({', '.join(changing)}) in the same run; "
            "refresh in one pulumi up and add or take out nodes in another, so that no node joins or leaves a "
            "cluster whose nodes restart one by one")
    if len(leaving) > 1:
        problems.append(
            f"this change takes {len(leaving)} nodes out of the cluster in one run ({', '.join(leaving)}); take "
            "out one node per pulumi up, so that the datastore never loses more than one voter at a time (to "
            "replace a node: add the new one first, then decommission the old one in a later run)")
    return problems


def refresh_asked(previous: Optional[dict[str, Any]], site: Site) -> bool:
    """Whether this run asks for a rolling refresh of MicroK8s: the site's channel or refresh
    number differs from the one the previous deployment recorded. Never on a site's first
    deployment (an install or a take-over changes no MicroK8s: a pin must be what the main node
    runs), nor on the first run after an upgrade from a version that did not record them."""
    if not previous or "microk8s" not in previous:
        return False
    target = record_of(site)["microk8s"]   # what this run's record will say
    return any(v is not None for v in target.values()) and previous["microk8s"] != target


def departed(previous: Optional[dict[str, Any]], site: Site) -> list[dict[str, Any]]:
    """Nodes the previous deployment had active whose entry is gone from the config now: they
    leave in this run. (Entries kept with `decommission` are the config's own business.)"""
    if not previous:
        return []
    listed = {n.name for n in site.nodes}
    return [{"name": name, **previous["nodes"][name]} for name in previous.get("active", [])
            if name not in listed and name in previous.get("nodes", {}) and name != previous.get("main")]


def first_balancer(previous: Optional[dict[str, Any]], site: Site) -> Optional[str]:
    """The balancer whose steps keep the unsuffixed names (`haproxy-config`): the first one the site
    had, as long as it stays; none once it is gone, so that no other balancer's steps move."""
    if site.haproxy is None:
        return None
    old = (previous or {}).get("haproxy")
    first = old["host"] if old else site.haproxy.host
    return first if first in {b.host for b in site.haproxy.balancers} else None


def balancers_left_behind(previous: Optional[dict[str, Any]], site: Site) -> list[dict[str, Any]]:
    """The balancers of the previous deployment that give something up in this run: HAProxy, when
    the config no longer names the host (`haproxy`: the old HAProxy settings), and the virtual IP,
    when the host had it and no longer has (`keepalived`: the old keepalived settings). Each entry
    carries what it takes to reach the host."""
    old = (previous or {}).get("haproxy")
    if not old:
        return []
    now = site.haproxy
    hosts_now = {b.host for b in now.balancers} if now else set()
    vip_now = bool(now and now.keepalived)
    shared = {k: v for k, v in old.items() if k not in ("hosts", "keepalived")}
    left = []
    for host in old.get("hosts") or [{k: old.get(k) for k in ("host", "port", "user", "hostKey")}]:
        gone = host["host"] not in hosts_now
        vip_off = bool(old.get("keepalived")) and (gone or not vip_now)
        if gone or vip_off:
            left.append({**host, "haproxy": {**shared, **host} if gone else None,
                         "keepalived": old["keepalived"] if vip_off else None})
    return left
