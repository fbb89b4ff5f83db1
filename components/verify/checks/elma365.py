"""The checks of ELMA365's own view, from `elma365ctl status` on the main node (components/facts/
elma365.py; the vendor does not document that output): its nodes up, and the settings the program
applies (HA mode and where it was rolled out, autoscaling, Linkerd, external services, replica
counts). Every setting that drifts shares one repair: the program's steps that apply them again."""
from __future__ import annotations

import json

from ...facts.elma365 import parse_ctl_autoscaling, parse_ctl_ha, parse_ctl_nodes, parse_ctl_replicas, parse_list
from ...render.answers import SERVICE_LABELS
from ..repairs import departure_repair, settings_repair, ssh_repair
from .base import Checks

SRC = " (elma365ctl status)"
Drift = tuple[str, str, str, str]   # (check, expected, found, what applies it: "ha" or "settings")


def elma365(c: Checks) -> None:
    nodes_up(c)
    settings_drift = ha_mode(c) + scaling(c) + external_services(c)
    replicas_drift = replicas(c)
    if settings_drift or replicas_drift:
        # one line repairs them all: with settings to apply, the program's steps (the scale steps
        # too when a count drifted); counts alone, the scale commands on the main node
        site = c.site
        parts = {part for *_, part in settings_drift}
        together = (settings_repair(site, c.ctx, ha="ha" in parts,
                                    settings="settings" in parts or bool(replicas_drift)) if parts else
                    ssh_repair(site, c.main.name,
                               *(f"elma365ctl scale {s} {n}" for s, n in site.scaling.replicas.items())))
        for check, expected, found, _ in settings_drift:
            c.add("cluster", check, expected, found, False, together)
        for check, expected, found in replicas_drift:
            c.add("cluster", check, expected, found, False, together)


def nodes_up(c: Checks) -> None:
    """ELMA365's own view of its nodes."""
    expected = ", ".join(f"{n.name}(up)" for n in c.active)
    value = c.ctl_field("nodes", "ELMA365 nodes up" + SRC, expected)
    if value is not None:
        nodes = parse_ctl_nodes(value)
        bad = [n for n in c.active if nodes.get(n.name) != "up"]
        extra = [n for n in nodes if n not in {a.name for a in c.active}]
        c.add("cluster", "ELMA365 nodes up" + SRC, expected, value or "none", not bad and not extra,
              c.node_repair(bad[0]) if bad else departure_repair(c.site, c.ctx, extra))


def ha_mode(c: Checks) -> list[Drift]:
    """HA mode as `reconfigure` applies it, and `update-hamode` on every node."""
    drift: list[Drift] = []
    ha = c.site.ha
    # what `elma365ctl status` shows: enabled, the system-service replicas, the failover seconds
    expected = (True, ha.replicas, ha.failover_seconds) if ha.enabled else (False, None, None)
    want = "enabled (replicas {1}, failover {2}s)".format(*expected) if ha.enabled else "disabled"
    value = c.ctl_field("high availability", "HA mode" + SRC, want)
    ha_ok = True
    if value is not None:
        got = parse_ctl_ha(value)
        if got is None:
            c.add("cluster", "HA mode" + SRC, want, f"not checked: unreadable {value!r}", None)
        else:
            ha_ok = got == expected
            if ha_ok:
                c.add("cluster", "HA mode" + SRC, want, value, True)
            else:
                drift.append(("HA mode" + SRC, want, value, "ha"))
    if ha.enabled:
        want_on = ", ".join(n.name for n in c.active)
        value = c.ctl_field("hamode updated on", "HA mode rolled out on" + SRC, want_on)
        if value is not None:
            done = parse_list(value)
            missing = [n for n in c.active if n.name not in done]
            out_of_cluster = [n for n in missing if c.out_of_cluster(n)]
            if out_of_cluster and ha_ok:
                c.add("cluster", "HA mode rolled out on" + SRC, want_on, value, False, c.rejoin(out_of_cluster[0]))
            elif missing:
                drift.append(("HA mode rolled out on" + SRC, want_on, value, "ha"))
            else:
                c.add("cluster", "HA mode rolled out on" + SRC, want_on, value, True)
    return drift


def scaling(c: Checks) -> list[Drift]:
    """Autoscaling and Linkerd, where the config says anything of scaling."""
    drift: list[Drift] = []
    auto = c.site.scaling.autoscaling
    if auto is None and not c.site.scaling.replicas:
        return drift
    enabled = bool(auto and auto.enabled)
    want = f"enabled (min {auto.min_replicas}, max {auto.max_replicas})" if enabled else "disabled"
    value = c.ctl_field("autoscaling", "autoscaling" + SRC, want)
    if value is not None:
        got = parse_ctl_autoscaling(value)
        if got is None:
            c.add("cluster", "autoscaling" + SRC, want, f"not checked: unreadable {value!r}", None)
        elif got != ((True, auto.min_replicas, auto.max_replicas) if enabled else (False, None, None)):
            drift.append(("autoscaling" + SRC, want, value, "settings"))
        else:
            c.add("cluster", "autoscaling" + SRC, want, value, True)
    want = "enabled" if c.site.scaling.linkerd or enabled else "disabled"
    value = c.ctl_field("linkerd", "Linkerd" + SRC, want)
    if value is not None:
        if value.split()[0:1] != [want]:
            drift.append(("Linkerd" + SRC, want, value, "settings"))
        else:
            c.add("cluster", "Linkerd" + SRC, want, value, True)
    return drift


def external_services(c: Checks) -> list[Drift]:
    want = sorted(SERVICE_LABELS[k] for k in c.site.install.external_services)
    shown = ", ".join(want) or "none"
    value = c.ctl_field("external services", "external services" + SRC, shown)
    if value is None:
        return []
    if sorted(parse_list(value)) != want:
        return [("external services" + SRC, shown, value, "settings")]
    c.add("cluster", "external services" + SRC, shown, value, True)
    return []


def replicas(c: Checks) -> list[tuple[str, str, str]]:
    """Rows of replica counts; the drifted ones are returned for the caller to add."""
    site = c.site
    wanted = dict(site.scaling.replicas)
    if not wanted or (site.scaling.autoscaling and site.scaling.autoscaling.enabled):
        return []
    value = c.ctl_field("replicas", "replicas" + SRC, ", ".join(f"{s} {n}" for s, n in wanted.items()))
    if value is None:
        return []
    found = parse_ctl_replicas(value)
    if found is None:
        c.add("cluster", "replicas" + SRC, json.dumps(wanted), f"not checked: unreadable {value!r}", None)
        return []
    drift = []
    services = list(wanted) + sorted(s for s in found if s not in wanted and "all" in wanted)
    for service in services:
        want = wanted.get(service, wanted.get("all"))
        have = found.get(service, found.get("all") if service != "all" else None)
        check = f"replicas: {service}" + SRC
        shown = "default" if have is None else str(have)
        if have != want:
            drift.append((check, str(want) + ("" if service in wanted else " (as all)"), shown))
        else:
            c.add("cluster", check, str(want), shown, True)
    return drift
