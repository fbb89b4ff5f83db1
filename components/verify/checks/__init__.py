"""`make verify`'s checks: what the config states (and what the program renders from it) against
what the hosts answered (components/facts/), one row each: ok, DRIFT with the one command that
repairs it (components/verify/repairs.py), or skip with why it could not be told.

    microk8s.py    the nodes: reachable, running, Ready, one version, refreshes held, the datastore, the kubeconfig
    certificates.py  each node's MicroK8s certificates: days left, the cluster address in server.crt
    elma365.py     ELMA365's own view (`elma365ctl status`): nodes up, HA mode, scaling, services
    haproxy.py     each HAProxy host: its live config, HAProxy's view of the backends, health checks
    keepalived.py  each balancer's keepalived.conf, and who holds the virtual IP
    backups.py     the datastore backups each place keeps: how many, the newest one's age, whether they verify
    base.py        a row, and what several checks look at (each node's MicroK8s, Kubernetes' nodes)
"""
from __future__ import annotations

from typing import Mapping

from ...facts.sections import HostOutput
from ...site import Site
from ..repairs import Context
from .backups import backups
from .base import DRIFT, OK, SKIP, Checks, Row
from .certificates import certificates
from .elma365 import elma365
from .haproxy import haproxy
from .microk8s import datastore, kubeconfig, microk8s_running, quorum, reachability, ready, refreshes_held, versions

__all__ = ["DRIFT", "OK", "SKIP", "Row", "compare"]


def compare(site: Site, hosts: Mapping[str, HostOutput], ctx: Context = Context()) -> list[Row]:
    """Every check, in the order printed: nodes, cluster, ELMA365 settings, kubeconfig, HAProxy."""
    c = Checks(site, hosts, ctx)
    for check in (reachability, microk8s_running, ready, versions, refreshes_held, datastore, quorum, backups, certificates,
                  elma365, kubeconfig, haproxy):
        check(c)
    order = {n.name: i for i, n in enumerate(site.nodes)}
    return sorted(c.rows, key=lambda r: (0, order[r.where]) if r.where in order else
                  (1, 0) if r.where == "cluster" else (2, 0))
