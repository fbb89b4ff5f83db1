"""The Kubernetes view: the main node's kubeconfig, and the labels the site config declares per node."""
from __future__ import annotations

import ipaddress
import re
from typing import Mapping

from ..rules import RACK_LABEL, ROLE_LABEL, ZONE_LABEL
from ..site import Node
from .shell import remote

API_PORT = 16443
SERVER_LINE = re.compile(r"^(?P<indent>\s*server:\s*)https://(?P<host>\[[^\]]+\]|[^\s:/]+)(?::(?P<port>\d+))?(?P<rest>\S*)\s*$",
                         re.MULTILINE)


class KubeconfigError(ValueError):
    pass


def kubeconfig_command(*, sudo: bool) -> str:
    """On the main node, after the last join: MicroK8s' admin kubeconfig (a secret, never logged)."""
    return remote("microk8s config", sudo=sudo)


def _host(address: str) -> str:
    try:
        return f"[{address}]" if ipaddress.ip_address(address).version == 6 else address
    except ValueError:
        return address


def with_server(kubeconfig: str, address: str) -> str:
    """The kubeconfig with every cluster's API server set to `address` (the port is kept, 16443 if
    none). Text without a server line is returned as is: `required` refuses it for the provider."""
    return SERVER_LINE.sub(lambda m: f"{m.group('indent')}https://{_host(address)}:{m.group('port') or API_PORT}"
                                     f"{m.group('rest')}", kubeconfig)


def required(kubeconfig: str) -> str:
    """A provider must never get an empty kubeconfig: it would fall back to the ambient ~/.kube/config."""
    if not (kubeconfig or "").strip():
        raise KubeconfigError("the main node's kubeconfig is empty (`microk8s config` printed nothing)")
    if not SERVER_LINE.search(kubeconfig):  # the error never quotes the kubeconfig: it holds a token
        raise KubeconfigError("`microk8s config` on the main node printed no `server: https://...` line")
    return kubeconfig


def node_labels(node: Node, common: Mapping[str, str], *, main: bool) -> dict[str, str]:
    """`common` (kubernetes.labels), then the node's own labels, then the program's: role, zone, rack."""
    labels = dict(common)
    labels.update(node.labels)
    labels[ROLE_LABEL] = "main" if main else "worker"
    if node.zone:
        labels[ZONE_LABEL] = node.zone
    if node.rack:
        labels[RACK_LABEL] = node.rack
    return dict(sorted(labels.items()))
