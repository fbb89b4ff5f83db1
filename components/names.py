"""Every step's name and its URN, in one place: the components name their steps (and themselves)
with these, `make verify`'s repairs and the policy pack find steps by them, the tests read them.

A step's URN is made of the component types above it and its own name, never of a component's
name, so a step keeps its state for good as long as its name stays: a name here never changes when
the site grows (a second balancer leaves the first one's steps as they are). A component's own name
is the domain key it stands for (a node, a balancer), and its steps are `<component>-<role>`.
"""
from __future__ import annotations

import re
from typing import Callable

PACKAGE = "elma365:cluster"
COMMAND = "command:remote:Command"

# the component types (`elma365:cluster:<Type>`) a step can sit under
CLUSTER = "Elma365Cluster"
PREFLIGHT = "Preflight"
INSTALL = "Elma365Install"
JOIN = "NodeJoin"
SETTINGS = "Settings"
SCALING = "Scaling"
HA = "HighAvailability"
HAPROXY = "HaproxyLoadBalancer"
HAPROXY_REMOVAL = "HaproxyRemoval"
DEPARTURE = "NodeDeparture"
KUBECONFIG = "Kubeconfig"
KUBERNETES = "KubernetesNodes"
HOLD = "MicroK8sHold"
REFRESH = "MicroK8sRefresh"
CERTIFICATES = "CertificateRenewal"
BACKUPS = "DatastoreBackups"


def type_of(component: str) -> str:
    return f"{PACKAGE}:{component}"


# ---------------------------------------------------------------- the steps, by the manual's order

def _of(role: str) -> Callable[[str], str]:
    """The step of `role` that a node (or the main node) has: `<node>-<role>`."""
    return lambda node: f"{node}-{role}"


preflight = _of("preflight")
quorum = _of("quorum")                       # on the main node, in a run that changes the membership
install = _of("install")                     # on the main node
microk8s_channel = _of("microk8s-channel")   # on the main node: the channel every joining node gets
prepare = _of("prepare")
add_node = _of("add-node")                   # on the main node, for the node that joins
join = _of("join")
RECONFIGURE = "reconfigure"


def scale(service: str) -> str:
    return f"scale-{service}"


update_hamode = _of("update-hamode")
RESTART = "restart"

# What a node applied last: a step that applies settings keeps the digest of it in a file of its node
# (render/shell.APPLIED_DIR, read by render/shell.applied_guard, emptied by verify's repairs). Each
# concept has three spellings, each kept for good because it lives in the state or on the servers (a
# new one would run the vendor's tools again on a live site): its component type, its steps' names
# (the vendor's command) and the node's file:
#   Settings           `reconfigure`                      applied/settings
#   HighAvailability   `<node>-update-hamode`, `restart`  applied/hamode, applied/restart
#   Scaling            `scale-<service>`                  applied/scale-<service> (the step's name)
APPLIED_SETTINGS = "settings"
APPLIED_HAMODE = "hamode"
APPLIED_RESTART = "restart"
applied_scale = scale
kubeconfig = _of("kubeconfig")               # on the main node
microk8s_hold = _of("microk8s-hold")         # MicroK8s' automatic refreshes held
microk8s_backup = _of("microk8s-backup")     # on the main node, before a rolling refresh
microk8s_check = _of("microk8s-check")       # whether the node is due for the refresh
microk8s_refresh = _of("microk8s-refresh")
certificates_check = _of("certificates-check")   # which of the node's certificates are due for renewal
certificates_renew = _of("certificates-renew")
drain = _of("drain")                         # on the main node, for the node that leaves
leave = _of("leave")
remove_node = _of("remove-node")             # on the main node, for the node that leaves
backup_key = _of("backup-key")               # on the main node: its key for copying datastore backups
backup_receiver = _of("backup-receiver")     # on each place a datastore backup is copied to
backup_places = _of("backup-places")         # on the main node: where its backups are copied to


def _host_part(host: str) -> str:
    return re.sub(r"[^A-Za-z0-9.-]", "-", host)


def balancer(what: str, host: str, first: bool) -> str:
    """A balancer's step (`what`: version, config, keepalived): `haproxy-<what>` for the first
    balancer the site had (the names a single-host site always had, kept when others are added),
    `haproxy-<what>-<host>` for every other."""
    return f"haproxy-{what}" if first else f"haproxy-{what}-{_host_part(host)}"


def server_state(node: str, state: str, host: str) -> str:
    """A rolling refresh's HAProxy step for `node` on the balancer `host` (`state`: drain, ready)."""
    return f"{node}-haproxy-{state}-{_host_part(host)}"


def certificates_state(node: str, state: str, host: str) -> str:
    """A certificate renewal's HAProxy step for `node` on the balancer `host` (`state`: drain, ready)."""
    return f"{node}-certificates-{state}-{_host_part(host)}"


def haproxy_removal(host: str, first: bool) -> str:
    """The component that takes this program's HAProxy (and keepalived) off a balancer left behind:
    its steps are named from it (removal_steps)."""
    return "haproxy-removal" if first else f"haproxy-removal-{_host_part(host)}"


def removal_steps(component: str) -> tuple[str, str]:
    """(keepalived's removal, HAProxy's removal) of a HaproxyRemoval named `component`."""
    return component.replace("haproxy-removal", "keepalived-removal", 1), component


# ---------------------------------------------------------------- what `make verify` reads

# Each read's name in a host's answer (components/facts/sections.py): the fact layer names its reads
# with these, verify's checks find them by these.
READ_STATUS = "status"                 # microk8s status
READ_VERSION = "version"               # microk8s version
READ_SNAP = "snap"                     # snap list microk8s
READ_VOTERS = "voters"                 # from READ_STATUS, by the preflight's filter
READ_DATASTORE = "datastore"           # the same
READ_CHANNEL = "channel"               # from READ_SNAP, by the preflight's filter
READ_HELD = "held"                     # the same
READ_QUORUM = "quorum"                 # the datastore's quorum facts (facts-datastore.sh)
READ_NODES = "nodes"                   # kubectl get nodes, on the main node
READ_ELMA365CTL = "elma365ctl"         # elma365ctl status, on the main node
READ_KUBECONFIG = "kubeconfig"         # microk8s config, credentials filtered out, on the main node
READ_CERTIFICATES = "certificates"     # the node's certificates, as its preflight reads them (FACT lines)
READ_HAPROXY_VERSION = "haproxy-version"
READ_CONFIG, READ_CONFIG_SHA256 = "config", "config-sha256"            # the program's HAProxy file
READ_BACKEND_STATE = "backend-state"   # show stat on the admin socket
READ_STATS = "stats"                   # the stats page
READ_KEEPALIVED_CONFIG, READ_KEEPALIVED_SHA256 = "keepalived-config", "keepalived-sha256"
READ_VIP = "vip"                       # ip -o addr show to <virtualIp>


def read_health(node: str) -> str:
    """The HAProxy host's `curl -I` of a node's health-check URL."""
    return f"health-{node}"


# ---------------------------------------------------------------- where each step sits

def component_of(step: str) -> str:
    """The component type a step of this program sits under (its URN's parent type)."""
    for suffix, component in (("-preflight", PREFLIGHT), ("-quorum", PREFLIGHT), ("-install", INSTALL),
                              ("-microk8s-channel", INSTALL),
                              ("-prepare", JOIN), ("-add-node", JOIN), ("-join", JOIN),
                              ("-update-hamode", HA), ("-kubeconfig", KUBECONFIG), ("-drain", DEPARTURE),
                              ("-leave", DEPARTURE), ("-remove-node", DEPARTURE), ("-microk8s-hold", HOLD),
                              ("-microk8s-backup", REFRESH), ("-microk8s-check", REFRESH),
                              ("-microk8s-refresh", REFRESH), ("-certificates-check", CERTIFICATES),
                              ("-certificates-renew", CERTIFICATES), ("-backup-key", BACKUPS),
                              ("-backup-receiver", BACKUPS), ("-backup-places", BACKUPS)):
        if step.endswith(suffix):
            return component
    if re.search(r"-haproxy-(drain|ready)-[A-Za-z0-9.-]+$", step) and not step.startswith("haproxy-"):
        return REFRESH
    if re.search(r"-certificates-(drain|ready)-[A-Za-z0-9.-]+$", step):
        return CERTIFICATES
    if step == RECONFIGURE:
        return SETTINGS
    if step == RESTART:
        return HA
    if step.startswith("scale-"):
        return SCALING
    if step.startswith(("haproxy-removal", "keepalived-removal")):
        return HAPROXY_REMOVAL
    if step.startswith("haproxy-"):
        return HAPROXY
    raise ValueError(f"not a step of this program: {step}")


def urn(stack: str, project: str, step: str) -> str:
    """The URN the step has in the stack (Pulumi's: the type chain from the stack down, then the name)."""
    return (f"urn:pulumi:{stack}::{project}::{type_of(CLUSTER)}${type_of(component_of(step))}${COMMAND}"
            f"::{step}")
