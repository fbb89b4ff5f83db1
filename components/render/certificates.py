"""The renewal of each node's MicroK8s certificates, one node at a time (components/certificates.py
wires the steps).

MicroK8s signs each node's `server.crt` and `front-proxy-client.crt` for 365 days and renews neither
(canonical/microk8s #5576); `microk8s refresh-certs -e <cert>` (scripts/wrappers/refresh_certs.py)
re-signs one from the node's CA and restarts kubelite (and, for server.crt, the cluster agent), so
the node is down for a moment: it is taken out of HAProxy's service first, with the rolling
refresh's gates and balancer steps (components/render/refresh.py). The CA is never renewed here:
MicroK8s then wants every other node to leave and join again (docs/certificates.md).
"""
from __future__ import annotations

from dataclasses import dataclass

from ..facts.certificates import CERTS_DIR, DAY, RENEWED, SNAP_OPENSSL, facts_script
from .refresh import Operation, RolloutNode, gate, ready_wait
from .shell import remote
from .template import Raw, Text, fill

RENEWAL = Operation("renew:", "certificate renewal", "certificate renewal", "has no certificate to renew",
                    "renewed no certificate", "no certificate was renewed",
                    "no node's certificates are renewed while another node is down")


def _due(node: RolloutNode, days: int) -> str:
    return fill("certificates-due.sh", node_text=Text(node.name), days=days, snap_openssl=SNAP_OPENSSL,
                renewed=list(RENEWED), certs_dir=CERTS_DIR, certs_dir_text=Text(CERTS_DIR), seconds=days * DAY)


def _facts(node: RolloutNode) -> str:
    """The node's certificate facts as the preflight reads them, after what the step did."""
    return fill("facts-fact.sh", node=node.name) + "\n" + facts_script(node.datastore.rsplit(":", 1)[0])


@dataclass(frozen=True)
class CertificateCheck:
    """What the preflight's certificates check of a node compares its facts with."""
    address: str       # the node's cluster address, which server.crt should name
    days_before: int   # install.certificates.renewDaysBefore: the CA within it is a warning


def preflight_check(node_name: str, check: CertificateCheck) -> str:
    """The preflight's certificates check over the node's facts (`$facts`, `report`)."""
    return fill("preflight-certificates.sh", node_text=Text(node_name), days=check.days_before,
                address_text=Text(check.address))


def check_command(node: RolloutNode, days: int, *, want_voters: int, sudo: bool) -> str:
    """Read-only: `renew: ...` (the cluster may take the node's restart) or `current: ...`, which the
    node's HAProxy steps read, then the node's certificate facts."""
    body = fill("certificates-check.sh", due=Raw(_due(node, days)), gate=Raw(gate(node, want_voters, RENEWAL)),
                node_text=Text(node.name), days=days, facts=Raw(_facts(node)))  # Raw: rendered here
    return remote(body, sudo=sudo)


def renew_command(node: RolloutNode, days: int, *, want_voters: int, sudo: bool) -> str:
    """On the node: each due certificate renewed (`microk8s refresh-certs -e`), then Ready with
    `want_voters` voters (bounded); its certificate facts after."""
    body = fill("certificates-renew.sh", due=Raw(_due(node, days)), gate=Raw(gate(node, want_voters, RENEWAL)),
                node_text=Text(node.name), days=days, facts=Raw(_facts(node)),
                ready_wait=Raw(ready_wait(node, want_voters, after="its certificate renewal",
                                          outcome="the renewal stops here")))  # Raw: rendered here
    return remote(body, sudo=sudo)
