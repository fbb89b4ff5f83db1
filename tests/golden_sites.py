"""The sites tests/golden renders: the stack files as they are, and named variants of them.

A variant is a stack file's values with a change, and, for a day-2 change, the values of the
previous deployment, whose record the program reads back (components/record.py). Between them the
variants make every step the program has (tests/test_golden.py proves it): departures, HAProxy and
keepalived removals, two balancers with a virtual IP, TLS, a shared HAProxy host, a bastion and sudo.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, Callable, Optional

from tests.mock_runtime import ROOT_DIR, stack_values
from tests.sites import KEY_PASSWORD, SECRET_KEYS, STATS_PASSWORD, TEST_KEY, TLS_PEM

Change = Callable[[dict[str, Any]], None]


def unchanged(values: dict[str, Any]) -> None:
    pass


@dataclass(frozen=True)
class Variant:
    stack: str                        # stacks/Pulumi.<stack>.yaml
    about: str                        # what the variant adds to its stack
    change: Change = unchanged        # the site now
    before: Optional[Change] = None   # the previous deployment's site; None: a new stack
    like: Optional[str] = None        # the site whose scripts it need not repeat (default: its stack)
    # the ends of the nodes' certificates the previous deployment recorded (components/facts/certificates.py)
    certificates: Optional[dict[str, Any]] = None

    @property
    def base(self) -> str:
        return self.like or self.stack

    def values(self) -> dict[str, Any]:
        return self._site(self.change)

    def previous_values(self) -> Optional[dict[str, Any]]:
        return None if self.before is None else self._site(self.before)

    def _site(self, change: Change) -> dict[str, Any]:
        values = copy.deepcopy(stack_values(ROOT_DIR / "stacks" / f"Pulumi.{self.stack}.yaml"))
        values["ssh"]["privateKey"] = TEST_KEY
        change(values)
        return values


def secret_keys(values: dict[str, Any]) -> set[str]:
    """As `pulumi config set --secret --path` leaves them: a section holding a secret is secret."""
    return SECRET_KEYS | ({"haproxy"} if {"stats", "tls"} & set(values.get("haproxy") or {}) else set())


def varying_names(values: dict[str, Any]) -> set[str]:
    """What a step's name may carry of the site: its nodes' names and its balancers' hosts."""
    haproxy = values.get("haproxy") or {}
    hosts = haproxy.get("hosts") or ([haproxy["host"]] if haproxy.get("host") else [])
    return {n["name"] for n in values["nodes"]} | {h if isinstance(h, str) else h["host"] for h in hosts}


def both(*changes: Change) -> Change:
    def change(values: dict[str, Any]) -> None:
        for each in changes:
            each(values)
    return change


def fourth_node(values: dict[str, Any]) -> None:
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})


def decommissioned(how: Any) -> Change:
    return both(fourth_node, lambda values: values["nodes"][-1].update(decommission=how))


def balancers(*hosts: str) -> Change:
    """`haproxy.hosts` sharing the virtual IP 192.168.1.60 on eth0 (keepalived)."""
    def change(values: dict[str, Any]) -> None:
        haproxy = values["haproxy"]
        del haproxy["host"]
        haproxy.update(hosts=list(hosts), virtualIp="192.168.1.60", keepalived={"interface": "eth0"})
    return change


def haproxy(**settings: Any) -> Change:
    return lambda values: values["haproxy"].update(settings)


def bastion_and_sudo(values: dict[str, Any]) -> None:
    values["ssh"].update(user="deploy", sudo=True, privateKeyPassword=KEY_PASSWORD,
                         bastion={"host": "jump.example.com", "port": 2222, "user": "jump"})


VARIANTS: dict[str, Variant] = {
    "example": Variant("example", "the manual's site"),
    "lab": Variant("lab", "the lab's site"),
    "example-decommission": Variant(
        "example", "elma365-4 decommissioned: drained, left, removed on the main node",
        decommissioned(True), before=fourth_node),
    "example-decommission-force": Variant(
        "example", "elma365-4 (dead) decommissioned with force: removed on the main node only",
        decommissioned("force"), before=fourth_node),
    "example-dead-node-replaced": Variant(
        "example", "elma365-3 dead: decommissioned with force and replaced by elma365-4 in one change: "
        "its removal first, then the join", lambda values: (values["nodes"][2].update(decommission="force"),
                                                             fourth_node(values))[-1],
        before=unchanged),
    "example-node-deleted": Variant(
        "example", "elma365-4's entry deleted: the previous deployment's record makes it a departure",
        before=fourth_node),
    "example-haproxy-moved": Variant(
        "example", "HAProxy moved to 192.168.1.49: 192.168.1.50 gets its own config back",
        haproxy(host="192.168.1.49"), before=unchanged),
    "example-shared-haproxy": Variant(
        "example", "HAProxy on a shared host: the program's sections in their own file", haproxy(shared=True)),
    "example-shared-haproxy-moved": Variant(
        "example", "the shared HAProxy host given up: its include removed",
        haproxy(host="192.168.1.49", shared=True), before=haproxy(shared=True), like="example-shared-haproxy"),
    "example-two-balancers": Variant(
        "example", "two balancers with a virtual IP (keepalived)", balancers("192.168.1.50", "192.168.1.49")),
    "example-balancer-removed": Variant(
        "example", "a third balancer taken out of haproxy.hosts: it gives up the virtual IP and HAProxy",
        balancers("192.168.1.50", "192.168.1.49"), before=balancers("192.168.1.50", "192.168.1.49", "192.168.1.48"),
        like="example-two-balancers"),
    "example-virtual-ip-removed": Variant(
        "example", "back to one balancer without a virtual IP: both give up keepalived, 192.168.1.49 HAProxy too",
        before=balancers("192.168.1.50", "192.168.1.49")),
    "example-tls-stats": Variant(
        "example", "TLS on 443 (a secret certificate) and the stats page (a secret password)",
        haproxy(tls={"certificate": TLS_PEM}, stats={"bind": "127.0.0.1:8404", "user": "ops",
                                                     "password": STATS_PASSWORD})),
    "example-bastion-sudo": Variant(
        "example", "a login user with sudo, a key with a passphrase, every server through a bastion",
        bastion_and_sudo),
    "example-pinned-channel": Variant(
        "example", "elma365:install.microk8sChannel pinned: the main node's channel is checked against it, "
        "the preflight checks a refresh to it, and a rolling refresh takes every node to it",
        lambda values: values["install"].update(microk8sChannel="1.28/stable")),
    "example-refresh-number": Variant(
        "example", "elma365:install.microk8sRefresh: a new number rolls a refresh within the channel",
        lambda values: values["install"].update(microk8sRefresh=2), like="example-pinned-channel"),
    "example-refresh-asked": Variant(
        "example", "a deployed site's pin moved one minor version up: the roll-out's steps are created asked",
        lambda values: values["install"].update(microk8sChannel="1.29/stable"),
        before=lambda values: values["install"].update(microk8sChannel="1.28/stable"), like="example-pinned-channel"),
    "example-certificates-due": Variant(
        "example", "certificates that ended (as the previous deployment read them): elma365-2's server.crt, the "
        "main node's front-proxy-client.crt are renewed node by node behind HAProxy, the main node last",
        before=unchanged, like="example",
        certificates={"elma365-2": {"read": "2000-01-01T00:00:00Z", "server.crt": "2000-01-02T00:00:00Z"},
                      "elma365-1": {"read": "2000-01-01T00:00:00Z", "front-proxy-client.crt": "2000-01-02T00:00:00Z"}}),
    "example-backup-host": Variant(
        "example", "elma365:install.datastoreBackupHost: a copy of each datastore backup goes to a backup host too",
        lambda values: values["install"].update(datastoreBackupHost={
            "host": "192.168.1.70", "user": "backup", "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackupHostKey",
            "path": "/srv/backups/elma365"})),
    "example-take-over": Variant(
        "example", "elma365:adopt: a site that runs ELMA365 already is taken over",
        lambda values: values.update(adopt=True)),
}
