"""What `make verify` reads of a balancer's keepalived: its live config (and digest), and whether
this balancer holds the virtual IP (`ip -o addr show to <vip>`: a line when it does, nothing when
not). Read in the same session as the balancer's HAProxy (components/facts/haproxy.py)."""
from __future__ import annotations

from typing import Optional

from .. import names
from ..render.shell import q
from ..site import Site
from .sections import HostOutput, Read, file_reads


def keepalived_sections(site: Site) -> list[Read]:
    k = site.haproxy.keepalived if site.haproxy else None
    if k is None:
        return []
    return [*file_reads(names.READ_KEEPALIVED_CONFIG, names.READ_KEEPALIVED_SHA256, k.config_path),
            (names.READ_VIP, f"ip -o addr show to {q(k.address)}", False)]


def holds_vip(out: Optional[HostOutput]) -> Optional[bool]:
    """Whether the balancer has the virtual IP on an interface; None when that could not be read."""
    s = out.sections.get(names.READ_VIP) if out and out.reachable else None
    if s is None or s.rc != 0:
        return None
    return bool(s.out.strip())
