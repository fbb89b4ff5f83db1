"""The site config: typed, frozen dataclasses parsed from the raw `elma365:*` values.

Pure: no Pulumi calls. parse_site validates everything first (components.rules) and raises one
SiteConfigError listing every violation, so nothing is built from a half-valid config.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .rules import EXTERNAL_SERVICES, RawSite, Violation, check

DEFAULT_INSTALLER_URL = "https://dl.elma365.com/onPremise/master/latest/download"
DEFAULT_MICROK8S_CHANNEL = "1.28/stable"


class SiteConfigError(ValueError):
    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"the site config has {len(violations)} problem(s); nothing was changed on any server:\n{lines}")


class Secret(str):
    """A string that must only ever reach a server as a Pulumi secret; its repr never shows it."""

    def __repr__(self) -> str:
        return "Secret('[secret]')"


@dataclass(frozen=True)
class Bastion:
    host: str
    port: int = 22
    user: Optional[str] = None


@dataclass(frozen=True)
class Ssh:
    private_key: Secret
    user: str = "root"
    port: int = 22
    private_key_password: Optional[Secret] = None
    sudo: bool = False
    bastion: Optional[Bastion] = None

    @property
    def needs_sudo(self) -> bool:
        return self.sudo and self.user != "root"


@dataclass(frozen=True)
class Node:
    name: str
    address: str
    cluster_address: str
    port: Optional[int] = None
    host_key: Optional[str] = None


@dataclass(frozen=True)
class Answer:
    prompt: str  # a regular expression, matched against the question the tool is asking
    answer: Secret


@dataclass(frozen=True)
class Install:
    edition: str = "enterprise"
    installer_url: str = DEFAULT_INSTALLER_URL
    microk8s_channel: str = DEFAULT_MICROK8S_CHANNEL
    external_services: Mapping[str, Secret] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    question_timeout_seconds: int = 30
    timeout_minutes: int = 120


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None


@dataclass(frozen=True)
class Scaling:
    autoscaling: Optional[Autoscaling] = None
    replicas: Mapping[str, int] = field(default_factory=dict)  # "all" first, then per service
    linkerd: bool = True


@dataclass(frozen=True)
class Ha:
    enabled: bool = False
    replicas: int = 3
    failover_seconds: int = 60


@dataclass(frozen=True)
class Haproxy:
    host: str
    port: Optional[int] = None
    user: Optional[str] = None
    host_key: Optional[str] = None
    bind: str = "*:80"
    backend_port: int = 80
    config_path: str = "/etc/haproxy/haproxy.cfg"
    reload_command: str = "systemctl reload haproxy"


@dataclass(frozen=True)
class Site:
    ssh: Ssh
    nodes: tuple[Node, ...]
    install: Install = Install()
    scaling: Scaling = Scaling()
    ha: Ha = Ha()
    haproxy: Optional[Haproxy] = None

    @property
    def main(self) -> Node:
        return self.nodes[0]

    @property
    def joining(self) -> tuple[Node, ...]:
        return self.nodes[1:]

    def public_view(self) -> dict[str, Any]:
        """The site as plain data with every secret left out: safe for state, outputs and policies."""
        return {
            "ssh": {"user": self.ssh.user, "port": self.ssh.port, "sudo": self.ssh.sudo,
                    "bastion": None if not self.ssh.bastion else vars(self.ssh.bastion).copy()},
            "nodes": [{"name": n.name, "address": n.address, "clusterAddress": n.cluster_address,
                       "port": n.port, "hostKey": n.host_key} for n in self.nodes],
            "install": {"edition": self.install.edition, "installerUrl": self.install.installer_url,
                        "microk8sChannel": self.install.microk8s_channel,
                        "externalServices": sorted(self.install.external_services),
                        "answerPrompts": [a.prompt for a in self.install.answers]},
            "scaling": {"autoscaling": None if not self.scaling.autoscaling else {
                "enabled": self.scaling.autoscaling.enabled,
                "minReplicas": self.scaling.autoscaling.min_replicas,
                "maxReplicas": self.scaling.autoscaling.max_replicas},
                "replicas": dict(self.scaling.replicas), "linkerd": self.scaling.linkerd},
            "ha": {"enabled": self.ha.enabled, "replicas": self.ha.replicas,
                   "failoverSeconds": self.ha.failover_seconds},
            "haproxy": None if not self.haproxy else {
                "host": self.haproxy.host, "bind": self.haproxy.bind, "backendPort": self.haproxy.backend_port,
                "configPath": self.haproxy.config_path, "reloadCommand": self.haproxy.reload_command},
        }


def parse_site(values: Mapping[str, Any], secret_keys: frozenset[str] | set[str] = frozenset()) -> Site:
    raw = RawSite(values, frozenset(secret_keys))
    violations = check(raw)
    if violations:
        raise SiteConfigError(violations)
    return _build(values)


def _opt(mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    value = mapping.get(key)
    return default if value is None else value


def _build(values: Mapping[str, Any]) -> Site:
    s = values["ssh"]
    bastion = s.get("bastion")
    ssh = Ssh(
        private_key=Secret(s["privateKey"]),
        user=_opt(s, "user", "root"),
        port=_opt(s, "port", 22),
        private_key_password=Secret(s["privateKeyPassword"]) if s.get("privateKeyPassword") else None,
        sudo=_opt(s, "sudo", False),
        bastion=Bastion(bastion["host"], _opt(bastion, "port", 22), bastion.get("user")) if bastion else None,
    )
    nodes = tuple(
        Node(name=n["name"], address=n["address"], cluster_address=_opt(n, "clusterAddress", n["address"]),
             port=n.get("port"), host_key=n.get("hostKey"))
        for n in values["nodes"]
    )
    i = values.get("install") or {}
    install = Install(
        edition=_opt(i, "edition", "enterprise"),
        installer_url=_opt(i, "installerUrl", DEFAULT_INSTALLER_URL),
        microk8s_channel=_opt(i, "microk8sChannel", DEFAULT_MICROK8S_CHANNEL),
        external_services={k: Secret(v) for k, v in (i.get("externalServices") or {}).items()
                           if k in EXTERNAL_SERVICES},
        answers=tuple(Answer(a["prompt"], Secret(str(a["answer"]))) for a in (i.get("answers") or [])),
        question_timeout_seconds=_opt(i, "questionTimeoutSeconds", 30),
        timeout_minutes=_opt(i, "timeoutMinutes", 120),
    )
    sc = values.get("scaling") or {}
    auto = sc.get("autoscaling")
    replicas = dict(sc.get("replicas") or {})
    # `scale all` first, so a per-service count given beside it wins.
    ordered = {k: replicas[k] for k in sorted(replicas, key=lambda k: (k != "all", k))}
    scaling = Scaling(
        autoscaling=Autoscaling(auto["enabled"], auto.get("minReplicas"), auto.get("maxReplicas")) if auto else None,
        replicas=ordered,
        linkerd=_opt(sc, "linkerd", True),
    )
    h = values.get("ha") or {}
    ha = Ha(enabled=_opt(h, "enabled", False), replicas=_opt(h, "replicas", 3),
            failover_seconds=_opt(h, "failoverSeconds", 60))
    p = values.get("haproxy")
    haproxy = Haproxy(
        host=p["host"], port=p.get("port"), user=p.get("user"), host_key=p.get("hostKey"),
        bind=_opt(p, "bind", "*:80"), backend_port=_opt(p, "backendPort", 80),
        config_path=_opt(p, "configPath", "/etc/haproxy/haproxy.cfg"),
        reload_command=_opt(p, "reloadCommand", "systemctl reload haproxy"),
    ) if p else None
    return Site(ssh=ssh, nodes=nodes, install=install, scaling=scaling, ha=ha, haproxy=haproxy)
