"""The site config: typed, frozen dataclasses parsed from the raw `elma365:*` values.

Pure: no Pulumi calls. parse_site validates everything first (components.rules) and raises one
SiteConfigError listing every violation, so nothing is built from a half-valid config.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .rules import DEFAULTS as D, EXTERNAL_SERVICES, WHILE_OFF, RawSite, Violation, check


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
    port: int = D["ssh.bastion.port"]
    user: Optional[str] = None
    host_key: Optional[str] = None


@dataclass(frozen=True)
class Ssh:
    private_key: Secret
    user: str = D["ssh.user"]
    port: int = D["ssh.port"]
    private_key_password: Optional[Secret] = None
    sudo: bool = D["ssh.sudo"]
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
    zone: Optional[str] = None  # Kubernetes topology labels (components/kubernetes.py)
    rack: Optional[str] = None
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)
    # None: a member (or to become one); "drain": a live node on its way out (drain, leave,
    # remove-node); "force": a dead node, removed on the main node with nothing run on it
    decommission: Optional[str] = None

    @property
    def active(self) -> bool:
        return self.decommission is None


@dataclass(frozen=True)
class Answer:
    prompt: str  # a regular expression, matched against the question the tool is asking
    answer: Secret


@dataclass(frozen=True)
class Install:
    edition: str = D["install.edition"]
    installer_url: str = D["install.installerUrl"]
    microk8s_channel: Optional[str] = None  # None: whatever the main node runs (read from it)
    datastore_backups: int = D["install.datastoreBackups"]   # kept on the main node; 0: none taken
    external_services: Mapping[str, Secret] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    question_timeout_seconds: int = D["install.questionTimeoutSeconds"]
    timeout_minutes: int = D["install.timeoutMinutes"]


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None


@dataclass(frozen=True)
class Scaling:
    autoscaling: Optional[Autoscaling] = None
    replicas: Mapping[str, int] = field(default_factory=dict)  # "all" first, then per service
    linkerd: bool = D["scaling.linkerd"]


@dataclass(frozen=True)
class Ha:
    enabled: bool = D["ha.enabled"]
    replicas: int = WHILE_OFF["ha.replicas"]     # required (and given) whenever HA is on: the rules say so
    failover_seconds: int = WHILE_OFF["ha.failoverSeconds"]


@dataclass(frozen=True)
class BalancerHost:
    """One HAProxy host: its SSH address, and what overrides `ssh` for it."""
    host: str
    port: Optional[int] = None
    user: Optional[str] = None
    host_key: Optional[str] = None


@dataclass(frozen=True)
class Keepalived:
    """The virtual IP the balancers share: keepalived (VRRPv3) on each, the address on the live one."""
    address: str                 # the virtual IP, without a prefix length
    prefix_length: int
    interface: str               # where the VIP goes and VRRP speaks, the same name on every balancer
    virtual_router_id: int = D["haproxy.keepalived.virtualRouterId"]
    advert_interval: float = D["haproxy.keepalived.advertInterval"]
    preempt: bool = D["haproxy.keepalived.preempt"]
    config_path: str = D["haproxy.keepalived.configPath"]
    reload_command: str = D["haproxy.keepalived.reloadCommand"]


@dataclass(frozen=True)
class Haproxy:
    balancers: tuple[BalancerHost, ...]   # `haproxy.hosts`, or the one `haproxy.host`
    bind: str = D["haproxy.bind"]
    backend_port: int = D["haproxy.backendPort"]
    config_path: str = D["haproxy.configPath"]
    reload_command: str = D["haproxy.reloadCommand"]   # restart where a reload cannot work
    log: str = D["haproxy.log"]   # where HAProxy sends its log (syslog): a socket path or <host>:<port>
    # shared: the host's own config (its `global`, other sites) stays; the program's sections go in
    # their own file, loaded beside it
    shared: bool = D["haproxy.shared"]
    include_path: str = D["haproxy.includePath"]
    timeouts: HaproxyTimeouts = field(default_factory=lambda: HaproxyTimeouts())
    retries: int = D["haproxy.retries"]
    redispatch: bool = D["haproxy.redispatch"]
    health_check: HealthCheck = field(default_factory=lambda: HealthCheck())
    stats: Optional[HaproxyStats] = None
    tls: Optional[HaproxyTls] = None
    keepalived: Optional[Keepalived] = None

    @property
    def host(self) -> str:
        """The first (or only) balancer's address; its `port`, `user` and `host_key` likewise."""
        return self.balancers[0].host

    @property
    def port(self) -> Optional[int]:
        return self.balancers[0].port

    @property
    def user(self) -> Optional[str]:
        return self.balancers[0].user

    @property
    def host_key(self) -> Optional[str]:
        return self.balancers[0].host_key

    @property
    def public_address(self) -> str:
        """Where clients reach ELMA365: the virtual IP, or the one balancer."""
        return self.keepalived.address if self.keepalived else self.host

    @property
    def web_port(self) -> int:
        """The port of `bind`, where clients (and keepalived's health check) reach HAProxy."""
        return int(self.bind.rsplit(":", 1)[1])

    @property
    def target_path(self) -> str:
        """The file the program writes: the whole config, or its own file beside the host's."""
        return self.include_path if self.shared else self.config_path


@dataclass(frozen=True)
class HaproxyTimeouts:
    """HAProxy times (5s, 1m, 500ms; a bare number is milliseconds). Long client/server/tunnel
    timeouts keep websockets and long requests alive; short ones bound idle and slow clients."""
    connect: str = D["haproxy.timeouts.connect"]
    client: str = D["haproxy.timeouts.client"]
    server: str = D["haproxy.timeouts.server"]
    tunnel: str = D["haproxy.timeouts.tunnel"]
    client_fin: str = D["haproxy.timeouts.clientFin"]
    http_request: str = D["haproxy.timeouts.httpRequest"]
    http_keep_alive: str = D["haproxy.timeouts.httpKeepAlive"]
    queue: str = D["haproxy.timeouts.queue"]
    check: str = D["haproxy.timeouts.check"]


@dataclass(frozen=True)
class HealthCheck:
    """`HEAD <path>` every `inter`; `fall` failures take a node out, `rise` successes bring it back."""
    path: str = D["haproxy.healthCheck.path"]
    inter: str = D["haproxy.healthCheck.inter"]
    fall: int = D["haproxy.healthCheck.fall"]
    rise: int = D["haproxy.healthCheck.rise"]


@dataclass(frozen=True)
class HaproxyStats:
    bind: str
    user: str
    password: Secret
    uri: str = D["haproxy.stats.uri"]


@dataclass(frozen=True)
class HaproxyTls:
    certificate: Secret  # PEM: certificate chain and private key
    bind: str = D["haproxy.tls.bind"]
    certificate_path: str = D["haproxy.tls.certificatePath"]
    redirect_http: bool = D["haproxy.tls.redirectHttp"]


@dataclass(frozen=True)
class Preflight:
    """Checks every node before anything is installed (components/preflight.py)."""
    enabled: bool = D["preflight.enabled"]
    supported_os: tuple[str, ...] = D["preflight.supportedOs"]  # "<ID>" or "<ID>:<VERSION_ID prefix>"
    # The vendor's minimum for one ELMA365 On-Premises Enterprise server (500 users): 10 vCPU,
    # 16 GB RAM, 100 GB disk (elma365.com/en/help/elma365-enterprise-on-premises.html).
    min_cpu_cores: int = D["preflight.minCpuCores"]
    min_memory_gib: float = D["preflight.minMemoryGiB"]
    min_free_disk_gib: float = D["preflight.minFreeDiskGiB"]
    disk_path: str = D["preflight.diskPath"]
    max_clock_offset_ms: int = D["preflight.maxClockOffsetMs"]
    port_timeout_seconds: int = D["preflight.portTimeoutSeconds"]

    def thresholds(self) -> dict[str, Any]:
        """What the checks compare against, as in the config (the preflight's re-run trigger)."""
        return {"supportedOs": list(self.supported_os), "minCpuCores": self.min_cpu_cores,
                "minMemoryGiB": self.min_memory_gib, "minFreeDiskGiB": self.min_free_disk_gib,
                "diskPath": self.disk_path, "maxClockOffsetMs": self.max_clock_offset_ms,
                "portTimeoutSeconds": self.port_timeout_seconds}


@dataclass(frozen=True)
class Kubernetes:
    """Node metadata managed through the Kubernetes API (components/kubernetes.py)."""
    enabled: bool = D["kubernetes.enabled"]
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)  # on every node


@dataclass(frozen=True)
class Site:
    ssh: Ssh
    nodes: tuple[Node, ...]
    # take over a site that already runs ELMA365 (README: "Take over a site that already runs
    # ELMA365"): no installer over it, and what runs there is recorded as the config states it
    adopt: bool = D["adopt"]
    install: Install = Install()
    scaling: Scaling = Scaling()
    ha: Ha = Ha()
    haproxy: Optional[Haproxy] = None
    preflight: Preflight = Preflight()
    kubernetes: Kubernetes = Kubernetes()

    @property
    def main(self) -> Node:
        return self.nodes[0]

    @property
    def active(self) -> tuple[Node, ...]:
        """The cluster's members, and the nodes about to join it: the main node first."""
        return tuple(n for n in self.nodes if n.active)

    @property
    def joining(self) -> tuple[Node, ...]:
        return self.active[1:]

    @property
    def decommissioned(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if not n.active)

    def public_view(self) -> dict[str, Any]:
        """The site as plain data with every secret left out: safe for state, outputs and policies."""
        return {
            "adopt": self.adopt,
            "ssh": {"user": self.ssh.user, "port": self.ssh.port, "sudo": self.ssh.sudo,
                    "bastion": None if not self.ssh.bastion else {
                        "host": self.ssh.bastion.host, "port": self.ssh.bastion.port, "user": self.ssh.bastion.user,
                        "hostKey": self.ssh.bastion.host_key}},
            "nodes": [{"name": n.name, "address": n.address, "clusterAddress": n.cluster_address,
                       "port": n.port, "hostKey": n.host_key, "decommission": n.decommission} for n in self.nodes],
            "install": {"edition": self.install.edition, "installerUrl": self.install.installer_url,
                        "microk8sChannel": self.install.microk8s_channel,
                        "datastoreBackups": self.install.datastore_backups,
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
                "configPath": self.haproxy.config_path, "reloadCommand": self.haproxy.reload_command,
                **({"hosts": [b.host for b in self.haproxy.balancers]} if len(self.haproxy.balancers) > 1 else {}),
                **({"virtualIp": self.haproxy.keepalived.address} if self.haproxy.keepalived else {})},
        }


def config_value(raw: Any) -> Any:
    """A top-level config value as the program reads it: Pulumi keeps a scalar set with `pulumi
    config set` as text (`elma365:adopt: "true"`), and an object set with `--path` as an object."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_site(values: Mapping[str, Any], secret_keys: frozenset[str] | set[str] = frozenset()) -> Site:
    raw = RawSite(values, frozenset(secret_keys))
    violations = check(raw)
    if violations:
        raise SiteConfigError(violations)
    return _build(values)


def _opt(mapping: Mapping[str, Any], key: str, default: Any) -> Any:
    value = mapping.get(key)
    return default if value is None else value


def _haproxy_extras(p: Mapping[str, Any]) -> dict[str, Any]:
    """The optional `elma365:haproxy` settings beyond the manual's; absent ones keep the defaults."""
    t = p.get("timeouts") or {}
    names = {"connect": "connect", "client": "client", "server": "server", "tunnel": "tunnel",
             "clientFin": "client_fin", "httpRequest": "http_request", "httpKeepAlive": "http_keep_alive",
             "queue": "queue", "check": "check"}
    timeouts = HaproxyTimeouts(**{attr: str(t[key]) for key, attr in names.items() if t.get(key) is not None})
    h = p.get("healthCheck") or {}
    health = HealthCheck(**{k: (str(h[k]) if k == "inter" else h[k])
                            for k in ("path", "inter", "fall", "rise") if h.get(k) is not None})
    s = p.get("stats")
    stats = HaproxyStats(bind=s["bind"], user=s["user"], password=Secret(s["password"]),
                         uri=_opt(s, "uri", D["haproxy.stats.uri"])) if s else None
    t = p.get("tls")
    tls = HaproxyTls(certificate=Secret(t["certificate"]), bind=_opt(t, "bind", D["haproxy.tls.bind"]),
                     certificate_path=_opt(t, "certificatePath", D["haproxy.tls.certificatePath"]),
                     redirect_http=_opt(t, "redirectHttp", D["haproxy.tls.redirectHttp"])) if t else None
    return {"timeouts": timeouts, "retries": _opt(p, "retries", D["haproxy.retries"]),
            "redispatch": _opt(p, "redispatch", D["haproxy.redispatch"]),
            "health_check": health, "stats": stats, "tls": tls}


def _balancer(entry: Any) -> BalancerHost:
    """`haproxy.hosts[i]`: an address, or {host, port, user, hostKey}; the single-host form is the same."""
    if isinstance(entry, str):
        return BalancerHost(entry)
    return BalancerHost(entry["host"], entry.get("port"), entry.get("user"), entry.get("hostKey"))


def _keepalived(p: Mapping[str, Any]) -> Optional[Keepalived]:
    if not p.get("virtualIp"):
        return None
    address, _, prefix = str(p["virtualIp"]).partition("/")
    k = p.get("keepalived") or {}
    return Keepalived(
        address=address, prefix_length=int(prefix) if prefix else (128 if ":" in address else 32),
        interface=k["interface"],
        virtual_router_id=_opt(k, "virtualRouterId", D["haproxy.keepalived.virtualRouterId"]),
        advert_interval=_opt(k, "advertInterval", D["haproxy.keepalived.advertInterval"]),
        preempt=_opt(k, "preempt", D["haproxy.keepalived.preempt"]),
        config_path=_opt(k, "configPath", D["haproxy.keepalived.configPath"]),
        reload_command=_opt(k, "reloadCommand", D["haproxy.keepalived.reloadCommand"]))


def _build(values: Mapping[str, Any]) -> Site:
    s = values["ssh"]
    bastion = s.get("bastion")
    ssh = Ssh(
        private_key=Secret(s["privateKey"]),
        user=_opt(s, "user", D["ssh.user"]),
        port=_opt(s, "port", D["ssh.port"]),
        private_key_password=Secret(s["privateKeyPassword"]) if s.get("privateKeyPassword") else None,
        sudo=_opt(s, "sudo", D["ssh.sudo"]),
        bastion=Bastion(bastion["host"], _opt(bastion, "port", D["ssh.bastion.port"]), bastion.get("user"),
                        bastion.get("hostKey")) if bastion else None,
    )
    nodes = tuple(
        Node(name=n["name"], address=n["address"], cluster_address=_opt(n, "clusterAddress", n["address"]),
             port=n.get("port"), host_key=n.get("hostKey"), zone=n.get("zone"), rack=n.get("rack"),
             labels=dict(n.get("labels") or {}),
             decommission={True: "drain", "force": "force"}.get(n.get("decommission")))
        for n in values["nodes"]
    )
    i = values.get("install") or {}
    install = Install(
        edition=_opt(i, "edition", D["install.edition"]),
        installer_url=_opt(i, "installerUrl", D["install.installerUrl"]),
        microk8s_channel=i.get("microk8sChannel"),
        datastore_backups=_opt(i, "datastoreBackups", D["install.datastoreBackups"]),
        external_services={k: Secret(v) for k, v in (i.get("externalServices") or {}).items()
                           if k in EXTERNAL_SERVICES},
        answers=tuple(Answer(a["prompt"], Secret(str(a["answer"]))) for a in (i.get("answers") or [])),
        question_timeout_seconds=_opt(i, "questionTimeoutSeconds", D["install.questionTimeoutSeconds"]),
        timeout_minutes=_opt(i, "timeoutMinutes", D["install.timeoutMinutes"]),
    )
    sc = values.get("scaling") or {}
    auto = sc.get("autoscaling")
    replicas = dict(sc.get("replicas") or {})
    # `scale all` first, so a per-service count given beside it wins.
    ordered = {k: replicas[k] for k in sorted(replicas, key=lambda k: (k != "all", k))}
    scaling = Scaling(
        autoscaling=Autoscaling(auto["enabled"], auto.get("minReplicas"), auto.get("maxReplicas")) if auto else None,
        replicas=ordered,
        linkerd=_opt(sc, "linkerd", D["scaling.linkerd"]),
    )
    h = values.get("ha") or {}
    ha = Ha(enabled=_opt(h, "enabled", D["ha.enabled"]), replicas=_opt(h, "replicas", WHILE_OFF["ha.replicas"]),
            failover_seconds=_opt(h, "failoverSeconds", WHILE_OFF["ha.failoverSeconds"]))
    p = values.get("haproxy")
    balancers = tuple(_balancer(b) for b in (p.get("hosts") or [p])) if p else ()
    haproxy = Haproxy(
        balancers=balancers, keepalived=_keepalived(p),
        bind=_opt(p, "bind", D["haproxy.bind"]), backend_port=_opt(p, "backendPort", D["haproxy.backendPort"]),
        config_path=_opt(p, "configPath", D["haproxy.configPath"]),
        reload_command=_opt(p, "reloadCommand", D["haproxy.reloadCommand"]),
        log=_opt(p, "log", D["haproxy.log"]),
        shared=_opt(p, "shared", D["haproxy.shared"]),
        include_path=_opt(p, "includePath", D["haproxy.includePath"]),
        **_haproxy_extras(p),
    ) if p else None
    f = values.get("preflight") or {}
    preflight = Preflight(
        enabled=_opt(f, "enabled", D["preflight.enabled"]),
        supported_os=tuple(_opt(f, "supportedOs", D["preflight.supportedOs"])),
        min_cpu_cores=_opt(f, "minCpuCores", D["preflight.minCpuCores"]),
        min_memory_gib=_opt(f, "minMemoryGiB", D["preflight.minMemoryGiB"]),
        min_free_disk_gib=_opt(f, "minFreeDiskGiB", D["preflight.minFreeDiskGiB"]),
        disk_path=_opt(f, "diskPath", D["preflight.diskPath"]),
        max_clock_offset_ms=_opt(f, "maxClockOffsetMs", D["preflight.maxClockOffsetMs"]),
        port_timeout_seconds=_opt(f, "portTimeoutSeconds", D["preflight.portTimeoutSeconds"]),
    )
    k = values.get("kubernetes") or {}
    kubernetes = Kubernetes(enabled=_opt(k, "enabled", D["kubernetes.enabled"]), labels=dict(k.get("labels") or {}))
    return Site(ssh=ssh, nodes=nodes, adopt=_opt(values, "adopt", D["adopt"]), install=install, scaling=scaling, ha=ha, haproxy=haproxy,
                preflight=preflight, kubernetes=kubernetes)
