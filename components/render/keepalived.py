"""Two or more balancers, one virtual IP: keepalived's config on each, and how it is applied or taken off.

Pure functions. Every balancer runs the same VRRPv3 instance (all start as BACKUP; the highest
priority that passes the health check becomes MASTER and holds the VIP). The health check is
HAProxy's own: a connection to its web port on the balancer itself. A balancer whose HAProxy fails
it goes to FAULT and gives up the VIP at once; one that dies outright stops sending adverts and the
next takes over after three missed adverts plus a skew (about 1.7 s at the default 0.5 s).

With `preempt: false` (the default) a balancer that comes back stays BACKUP: the VIP stays where it
is and clients see no second move. With `preempt: true` the first balancer takes the VIP back once
its HAProxy passes the check again.
"""
from __future__ import annotations

import posixpath

from ..record import RecordedKeepalived
from ..site import Haproxy, Keepalived
from .haproxy import BEFORE, DISABLED, MANAGED, keep_hosts_own
from .shell import ensure_package, remote
from .template import Raw, fill

INSTANCE = "elma365"
CHECK = "elma365_haproxy"
CHECK_FILE = "elma365-cluster-check-haproxy"
TOP_PRIORITY = 150
PRIORITY_STEP = 25          # 150, 125, 100, 75, 50 for at most five balancers


def priority(index: int) -> int:
    return TOP_PRIORITY - PRIORITY_STEP * index


def check_path(keepalived: Keepalived) -> str:
    return posixpath.join(posixpath.dirname(keepalived.config_path), CHECK_FILE)


def haproxy_check_script(haproxy: Haproxy) -> str:
    return fill("keepalived-check-haproxy.sh", port=haproxy.web_port)


def _seconds(value: float) -> str:
    return f"{value:g}"


def keepalived_config(haproxy: Haproxy, index: int) -> str:
    """The config of balancer `index` (0 = the first of `haproxy.hosts`, the highest priority)."""
    k = haproxy.keepalived
    assert k is not None
    instance = [
        f"vrrp_instance {INSTANCE} {{",
        "    state BACKUP",
        f"    interface {k.interface}",
        f"    virtual_router_id {k.virtual_router_id}",
        f"    priority {priority(index)}",
        f"    advert_int {_seconds(k.advert_interval)}",
        *([] if k.preempt else ["    nopreempt"]),
        "    virtual_ipaddress {",
        f"        {k.address}/{k.prefix_length} dev {k.interface}",
        "    }",
        "    track_script {",
        f"        {CHECK}",
        "    }",
        "}",
    ]
    sections = [
        f"{MANAGED}: do not edit; balancer {index + 1} of {len(haproxy.balancers)} for the virtual IP {k.address}",
        "\n".join(["global_defs {", "    vrrp_version 3",
                   # the check runs as root, and keepalived refuses a script a non-root user could change
                   "    enable_script_security", "    script_user root", "}"]),
        "\n".join([f"vrrp_script {CHECK} {{", f'    script "{check_path(k)}"',
                   "    interval 1", "    timeout 1", "    fall 2", "    rise 2", "}"]),
        "\n".join(instance),
    ]
    return "\n\n".join(sections) + "\n"


def apply_command(haproxy: Haproxy, index: int, *, sudo: bool) -> str:
    k = haproxy.keepalived
    assert k is not None
    body = fill("keepalived-apply.sh", config_path=k.config_path, check_path=check_path(k),
                reload_command=k.reload_command, keep_own=Raw(keep_hosts_own("haproxy.virtualIp")),
                ensure_keepalived=Raw(ensure_package("keepalived", "keepalived")),
                config=keepalived_config(haproxy, index), check_script=haproxy_check_script(haproxy))
    return remote(body, sudo=sudo)


def removal_command(old: RecordedKeepalived, *, sudo: bool) -> str:
    """`old`: the balancer's keepalived settings as the previous deployment's record has them."""
    body = fill("keepalived-removal.sh", config_path=old.config_path, reload_command=old.reload_command,
                managed=MANAGED, before=BEFORE, disabled=DISABLED)
    return remote(body, sudo=sudo)
