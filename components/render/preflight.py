"""The preflight check script: one per node, run before anything is installed.

It prints one machine-readable line per check, always, whatever the outcome:

    PREFLIGHT <node> <check> ok|warn|fail <detail>

and, when any check failed, repeats the failed lines on stderr, ends with a one-line summary
("preflight failed on <node>: <check> (<detail>); ...") and exits 1. Every check runs; none stops
the others. The script depends only on the node's own entry, the main node's cluster address,
`elma365:adopt` and the `elma365:preflight` thresholds, so its text (and the step) changes only when
those do.

Before the checks, every node (preflight enabled or not) prints what it runs (`FACT` lines) and the
`site` check over those facts: where ELMA365 already runs (the facts: components/facts/node.py;
the rules: site_rules below, and live_elma365, which the install step refuses with too).

Checks (names as printed): site, os, arch, cpu, memory, disk, hostname, hostname-resolves, clock,
port-<p> for each MicroK8s port on the main node (joining nodes only), sudo; refresh-hold; with a
pinned channel microk8s-refresh, and with a pin or a refresh number microk8s-health on the main node;
certificates (days left; the CA within install.certificates.renewDaysBefore, or a server.crt that does
not name the node's cluster address: a warning).
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from ..facts.node import DATASTORE_PORT, ELMA365_NAMESPACE, LOST_QUORUM_RUNBOOK, datastore_address, print_facts, read_facts
from ..site import Node, Preflight
from . import quorum
from .certificates import CertificateCheck, preflight_check as certificate_check
from .hold import refresh_hold_check
from .refresh import RefreshPlan, preflight_check as refresh_check, preflight_health
from .shell import remote
from .template import Both, Raw, Text, fill

MICROK8S_PORTS = (25000, 16443, 10250, DATASTORE_PORT)
LINE = re.compile(r"^PREFLIGHT (?P<node>\S+) (?P<check>\S+) (?P<status>ok|warn|fail) ?(?P<detail>.*)$")


def node_facts(node_name: str, main: Node, *, sudo: bool) -> dict[str, Any]:
    """What a node's checks look at, besides the thresholds: the re-run trigger's node part."""
    return {"name": node_name, "main": node_name == main.name, "mainClusterAddress": main.cluster_address,
            "sudo": sudo}


def _gib_to_kib(gib: float) -> int:
    return int(round(gib * 1024 * 1024))


# the sudo check: a fixed line of this program's, one or the other
SUDO_CHECK = ("if sudo -n true >/dev/null 2>&1; then report sudo ok 'sudo -n works'; else report sudo fail "
              "'sudo -n true failed: ssh.sudo is set, so the login user needs sudo without a password'; fi")
SUDO_UNUSED = "report sudo ok 'not used (ssh.sudo is off or the user is root)'"


def preflight_checks_script(node_name: str, *, is_main: bool, main_cluster_address: str, sudo: bool,
                 preflight: Preflight) -> str:
    """The checks alone, as a whole bash body (without the strict-mode wrapper): every check, then
    the verdict."""
    return "\n".join([fill("preflight-report.sh", node_text=Text(node_name)),
                      _checks(is_main=is_main, main_cluster_address=main_cluster_address, sudo=sudo,
                              preflight=preflight),
                      fill("preflight-verdict.sh")])


def _checks(*, is_main: bool, main_cluster_address: str, sudo: bool, preflight: Preflight) -> str:
    """Every check (components/scripts/preflight.sh; the port probes of a joining node:
    preflight-ports.sh), reporting through preflight-report.sh's `report`."""
    p = preflight
    # the main node does not probe itself: the others must reach it
    ports = "" if is_main else "\n" + fill("preflight-ports.sh", ports=list(MICROK8S_PORTS), timeout=p.port_timeout_seconds,
                                           main=Both(main_cluster_address)) + "\n"
    # MemTotal is the RAM less what the firmware and kernel keep: allow 5 % below the minimum.
    return fill("preflight.sh", supported_os=list(p.supported_os),
                supported_os_text=Text(", ".join(p.supported_os)), min_cpu_cores=p.min_cpu_cores,
                min_memory_kib=int(_gib_to_kib(p.min_memory_gib) * 0.95),
                min_memory_gib=Text(f"{p.min_memory_gib:g}"), disk_path=p.disk_path,
                min_free_disk_kib=_gib_to_kib(p.min_free_disk_gib),
                min_free_disk_gib=Text(f"{p.min_free_disk_gib:g}"), max_clock_offset_ms=p.max_clock_offset_ms,
                ports_section=Raw(ports),  # the port probes above, or nothing
                sudo_check=Raw(SUDO_CHECK if sudo else SUDO_UNUSED))


def live_elma365(adopt: bool) -> tuple[str, str]:
    """The main node's verdict when ELMA365 runs there and this program did not install it."""
    if adopt:
        return "ok", Text("elma365:adopt takes it over, the installer does not run")
    return "fail", Text("the installer never runs over a live ELMA365. To take this site over, set "
                        "elma365:adopt to true (README: Take over a site that already runs ELMA365)")


def site_rules(node_name: str, main: Node, adopt: bool) -> str:
    """The `site` check of `node`'s preflight, over the facts read_facts read (`report` as in
    preflight-report.sh): the installer runs only on nodes[0], and only where no configured node
    runs ELMA365; ELMA365 found on the main node without `elma365:adopt` is refused, with it taken
    over; ELMA365 on another node is allowed only as a member of the main node's cluster. A
    refusal stores nothing: the next run reads the servers again."""
    if node_name == main.name:
        status, detail = live_elma365(adopt)
        return fill("preflight-site-main.sh", node_text=Text(node_name), namespace=ELMA365_NAMESPACE,
                    live_status=status, live_detail=detail)
    return fill("preflight-site-joining.sh", node_text=Text(node_name), main_text=Text(main.name),
                main_datastore=datastore_address(main), namespace=ELMA365_NAMESPACE)


def preflight_command(node_name: str, main: Node, adopt: bool, preflight: Preflight, *,
                      refresh: Optional[RefreshPlan], sudo: bool, certificates: Optional[CertificateCheck] = None) -> str:
    """Runs as the login user (no sudo prefix: the sudo check tests sudo itself). First what the node
    runs (components/facts/node.py) and the site rules over it, on every node, whatever
    `preflight.enabled` says; then the checks. A node already in service (installed, or joined) is
    not checked again: its ports are in use and its disk and memory are the cluster's now, so a key
    rotation or an upgrade of this program must not fail on them. `sudo`: whether the node's other
    steps use it (its facts are read as root, and the sudo check tests it); `refresh`: with
    install.microk8sChannel or install.microk8sRefresh set, what a rolling refresh must find;
    `certificates`: what the node's certificates are checked against."""
    address = certificates.address if certificates else None
    parts = [fill("preflight-report.sh", node_text=Text(node_name)), read_facts(node_name, sudo=sudo, address=address),
             site_rules(node_name, main, adopt), quorum_check(node_name), refresh_hold_check(node_name),
             *_refresh_checks(node_name, refresh, sudo), *_certificate_checks(node_name, certificates)]
    if preflight.enabled:
        checks = _checks(is_main=node_name == main.name, main_cluster_address=main.cluster_address,
                         sudo=sudo, preflight=preflight)
        parts.append(fill("preflight-in-service.sh", checks=Raw(checks)))  # rendered above
    parts.append(fill("preflight-verdict.sh"))
    return remote("\n".join(parts), sudo=False)


def _refresh_checks(node_name: str, refresh: Optional[RefreshPlan], sudo: bool) -> list[str]:
    """With a pinned channel: whether the node may be refreshed to it (one minor up, never down); on
    the main node, whether a refresh that is due may start (every other node Ready, the voters whole)."""
    if refresh is None:
        return []
    checks = [refresh_check(node_name, refresh.target.channel)] if refresh.target.channel else []
    if node_name == refresh.main.name:
        checks.append(preflight_health(refresh.main, refresh.target, want_voters=refresh.want_voters, sudo=sudo))
    return checks


def _certificate_checks(node_name: str, certificates: Optional[CertificateCheck]) -> list[str]:
    return [certificate_check(node_name, certificates)] if certificates else []


def quorum_check(node_name: str) -> str:
    """The `datastore` check over the quorum facts (facts-datastore.sh): refused on a lost quorum,
    pointing to the recovery the operator runs by hand."""
    return fill("preflight-datastore.sh", node_text=Text(node_name), runbook=LOST_QUORUM_RUNBOOK)


def preflight_update_command(node_name: str, *, refresh: Optional[RefreshPlan], sudo: bool,
                             certificates: Optional[CertificateCheck] = None) -> str:
    """A passed check re-runs only when what it checks changes (its triggers: a replace, i.e. its
    create). Any other change (a new key, new script text) reaches a node that passed already: it
    reads again what the node runs (the stack output `facts`), checks that the datastore has its
    quorum, with a pinned channel or a refresh number that a refresh may roll, and the node's
    certificates."""
    in_service = f'echo "PREFLIGHT {node_name} in-service ok passed before; not checked again"'
    address = certificates.address if certificates else None
    facts = fill("facts-quorum-read.sh", print_facts=Raw(print_facts(node_name, sudo=sudo, address=address)))  # rendered here
    return remote("\n".join([fill("preflight-report.sh", node_text=Text(node_name)), facts,
                              quorum_check(node_name), *_refresh_checks(node_name, refresh, sudo),
                              *_certificate_checks(node_name, certificates), in_service, fill("preflight-verdict.sh")]),
                  sudo=False)


def quorum_command(main: Node, plan: quorum.Change, *, sudo: bool) -> str:
    """The main node's `quorum` check, a step of its own in a run that changes the membership: the
    quorum gate over the run's whole plan (components/render/quorum.py), reported as the preflight
    reports (a `PREFLIGHT <main> quorum ok|fail ...` line; it fails the run before anything changes)."""
    return remote("\n".join([fill("preflight-report.sh", node_text=Text(main.name)),
                              quorum.preflight_check(plan, main.name, datastore_address(main), sudo=sudo),
                              fill("preflight-verdict.sh")]), sudo=False)


def parse_report(text: str) -> Iterator[dict[str, str]]:
    """The PREFLIGHT lines of one or more reports, as dicts (node, check, status, detail)."""
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            yield match.groupdict()


def failures(text: str) -> list[str]:
    return [f"{r['node']}: {r['check']} ({r['detail']})" for r in parse_report(text) if r["status"] == "fail"]

