"""The checks of the virtual IP (components/facts/keepalived.py read it): each balancer's live
keepalived.conf is the one rendered for it, and exactly one balancer holds the address."""
from __future__ import annotations

import hashlib

from ... import names
from ...facts.haproxy import balancers
from ...facts.keepalived import holds_vip
from ...facts.sections import HostOutput
from ...render.keepalived import keepalived_config
from ...site import BalancerHost
from ..repairs import haproxy_repair, manual
from .base import Checks, live_file


def keepalived(c: Checks, index: int, b: BalancerHost, where: str, out: HostOutput) -> None:
    """The balancer's VRRP instance: the live keepalived.conf is the one rendered for it."""
    h = c.site.haproxy
    assert h is not None and h.keepalived is not None
    expected = keepalived_config(h, index)
    label = f"as rendered for balancer {index + 1} (sha256 {hashlib.sha256(expected.encode()).hexdigest()[:12]})"
    live_file(c, where, f"live {h.keepalived.config_path} = applied", label, expected,
              out.sections.get(names.READ_KEEPALIVED_CONFIG), out.sections.get(names.READ_KEEPALIVED_SHA256),
              haproxy_repair(c.site, c.ctx, b, ("keepalived",)))


def virtual_ip_holders(c: Checks) -> None:
    """Exactly one balancer has the virtual IP on its interface (keepalived's job)."""
    h = c.site.haproxy
    if h is None or h.keepalived is None:
        return
    read, holders = [], []
    for key, _, b in balancers(c.site):
        holds = holds_vip(c.hosts.get(key))
        if holds is not None:
            read.append(b.host)
            if holds:
                holders.append(b.host)
    check = f"virtual IP {h.keepalived.address}"
    expected = "held by exactly one balancer"
    if not read:
        c.add("cluster", check, expected, "not checked: no balancer could be read", None)
    elif len(holders) == 1:
        c.add("cluster", check, expected, f"held by {holders[0]}", True)
    else:
        found = f"held by {', '.join(holders)}" if holders else f"held by none of {', '.join(read)}"
        c.add("cluster", check, expected, found, False,
              manual("check keepalived on the balancers (systemctl status keepalived; journalctl -u "
                     "keepalived): both holding it means they do not hear each other's VRRP adverts "
                     "(multicast 224.0.0.18 or a firewall), none means no balancer passes its check"))
