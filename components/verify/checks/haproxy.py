"""The checks of each HAProxy host (components/facts/haproxy.py read it): reachable, its live
config the one the program renders for the HAProxy version it reports, HAProxy's own view of the
backends, and each node's health check as HAProxy makes it; with a virtual IP, the balancer's
keepalived too (checks/keepalived.py)."""
from __future__ import annotations

import hashlib
from typing import Optional

from ... import names
from ...facts import haproxy as hf
from ...facts.sections import HostOutput, Section, last_line
from ...render.haproxy import UnsupportedHaproxy, parse_version
from ...site import BalancerHost
from ..repairs import haproxy_repair, ssh_repair, unreachable
from .base import Checks, live_file
from .keepalived import keepalived, virtual_ip_holders


def haproxy(c: Checks) -> None:
    for key, index, b in hf.balancers(c.site):
        balancer(c, key, index, b)
    virtual_ip_holders(c)


def balancer(c: Checks, key: str, index: int, b: BalancerHost) -> None:
    h = c.site.haproxy
    assert h is not None
    where = f"haproxy {b.host}"
    out = c.hosts.get(key)
    if not out or not out.reachable:
        c.add(where, "reachable over SSH", "yes", f"unreachable ({out.error if out else 'not checked'}); "
              "its checks did not run", False, unreachable(c.site, key, "the HAProxy host"))
        return
    c.add(where, "reachable over SSH", "yes", "yes", True)
    expected = config(c, where, b, out)
    # HAProxy's own view of its backends: its admin socket, or its stats page, or nothing to read it by
    socket_path = hf.admin_socket(expected) if expected is not None else hf.rendered_socket(c.site)
    check = "backend state (HAProxy's view)"
    if socket_path:
        backend_states(c, key, b, where, out.sections.get(names.READ_BACKEND_STATE), f"admin socket {socket_path}")
    elif h.stats is None:
        c.add(where, check, "every server UP",
              "not checked: the program's config has no admin socket and no stats page (haproxy.stats)", None)
    elif "haproxy.stats.password" in c.ctx.unread_secrets or out.sections.get(names.READ_STATS) is None:
        c.add(where, check, "every server UP",
              "not checked: the stats password is a secret this form does not read", None)
    else:
        backend_states(c, key, b, where, out.sections.get(names.READ_STATS), "stats page")
    health(c, where, out)
    if h.keepalived:
        keepalived(c, index, b, where, out)


def config(c: Checks, where: str, b: BalancerHost, out: HostOutput) -> Optional[str]:
    """The live config against the program's, rendered for the version `haproxy -v` reports;
    returns the rendered config (None when the version could not be told)."""
    h = c.site.haproxy
    version_out = out.sections.get(names.READ_HAPROXY_VERSION)
    live = out.sections.get(names.READ_CONFIG)
    check = f"live {hf.program_file(h)} = applied"
    try:
        version = parse_version(version_out.out if version_out else "")
    except UnsupportedHaproxy as exc:
        c.add(where, check, "the program's rendering", f"not checked: {exc}", None)
        return None
    expected = hf.rendered_config(c.site, version)
    label = f"as rendered for HAProxy {version[0]}.{version[1]} (sha256 {hashlib.sha256(expected.encode()).hexdigest()[:12]})"
    repair = haproxy_repair(c.site, c.ctx, b)
    if "haproxy.stats.password" in c.ctx.unread_secrets and h.stats is not None and live is not None and live.rc == 0:
        same = hf.mask_secrets(expected).rstrip("\n") == hf.mask_secrets(live.out).rstrip("\n")
        note = " (the stats password not compared: a secret this form does not read)"
        c.add(where, check, label, ("identical" if same else hf.config_difference(expected, live.out)) + note,
              same, repair)
    else:
        live_file(c, where, check, label, expected, live, out.sections.get(names.READ_CONFIG_SHA256), repair)
    return expected


def backend_states(c: Checks, key: str, b: BalancerHost, where: str, section: Optional[Section], source: str) -> None:
    """One row per active node from HAProxy's stats CSV (`show stat` or the stats page)."""
    h = c.site.haproxy
    check = "backend state (HAProxy's view)"
    if section is None:
        c.add(where, check, "every server UP", f"not checked: the {source} was not read", None)
        return
    if section.rc == 127:
        c.add(where, check, "every server UP", f"not checked: {last_line(section)}", None)
        return
    states = hf.parse_stats_csv(section.out) if section.rc == 0 else {}
    if not states:
        found = (f"HAProxy is not running or has no admin socket ({last_line(section)})" if section.rc == 3 else
                 f"{source} unreadable: {last_line(section)}")
        repair = (ssh_repair(c.site, key, h.reload_command) if section.rc == 3 else
                  haproxy_repair(c.site, c.ctx, b))
        c.add(where, check, "every server UP", found, False, repair)
        return
    for node in c.active:
        state = states.get(node.name, "not in the live config")
        c.add(where, f"backend {node.name} state ({source.split(' /')[0]})", "UP", state, state == "UP",
              haproxy_repair(c.site, c.ctx, b) if node.name not in states else c.node_repair(node))


def health(c: Checks, where: str, out: HostOutput) -> None:
    """The same check HAProxy makes, from its host."""
    h = c.site.haproxy
    for node in c.active:
        s = out.sections.get(names.read_health(node.name))
        check = f"backend {node.name} health: HEAD {h.health_check.path} :{h.backend_port}"
        if s is None:
            continue
        code, reason = hf.parse_curl_health(s)
        if s.rc == 127:
            c.add(where, check, "2xx or 3xx", f"not checked: {reason}", None)
            continue
        ok = code is not None and 200 <= code < 400
        found = (f"{code}" if code else "no answer") + (f" ({reason})" if reason and not ok else "")
        c.add(where, check, "2xx or 3xx", found, ok, c.node_repair(node))
