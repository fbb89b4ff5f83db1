"""The site config: one typed model of the `elma365:*` values, frozen dataclasses.

A field's config key is its name in camelCase (components/site_view.py: config_key), its default
the table's (components/rules/defaults.py, given by `section`); a field typed Secret never leaves
the model but as a Pulumi secret (components/site_view.py, the projection, leaves it out). Pure: no
Pulumi calls.

parse_site walks the raw values once (components.rules): each rule checks its part of the config
and returns what builds that part of the model; one SiteConfigError lists every violation, and
nothing is built from a half-valid config.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional, TypeVar

from .rules import RawSite, Violation, build, parse
from .rules.defaults import DEFAULTS, WHILE_OFF
from .site_view import config_key, view

T = TypeVar("T")


class SiteConfigError(ValueError):
    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"the site config has {len(violations)} problem(s); nothing was changed on any server:\n{lines}")


def section(path: str) -> Callable[[type[T]], type[T]]:
    """The frozen model class of the config object at `path`: a field given no default here holds
    the table's for `<path>.<its config key>`, so the class states what a field is and the table
    alone what it defaults to (a key of WHILE_OFF: what the model holds while its section is off);
    a field in neither is required."""
    def model(cls: type[T]) -> type[T]:
        for name in vars(cls).get("__annotations__", {}):
            key = f"{path}.{config_key(name)}".lstrip(".")
            if name not in vars(cls) and key in TABLE:
                setattr(cls, name, TABLE[key])
        return dataclass(frozen=True)(cls)
    return model


TABLE = {**WHILE_OFF, **DEFAULTS}


class Secret(str):
    """A string that must only ever reach a server as a Pulumi secret; its repr never shows it."""

    def __repr__(self) -> str:
        return "Secret('[secret]')"


@dataclass(frozen=True)
class SshServer:
    """A server the program logs into besides the nodes: its SSH address, and what overrides `ssh`
    for it."""
    host: str
    port: Optional[int] = None
    user: Optional[str] = None
    host_key: Optional[str] = None


@dataclass(frozen=True)
class BackupHost(SshServer):
    """A host beside the site that keeps a copy of every datastore backup (install.datastoreBackupHost):
    its host key pinned, the main node's backup key authorized there for taking backups in only."""
    path: Optional[str] = None   # None: /var/lib/elma365-cluster/backups/<the main node's name>


@section("ssh.bastion")
class Bastion(SshServer):
    port: int  # its own, not ssh.port


@section("ssh")
class Ssh:
    private_key: Secret
    user: str
    port: int
    private_key_password: Optional[Secret] = None
    sudo: bool
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


@section("install")
class Install:
    edition: str
    installer_url: str
    microk8s_channel: Optional[str] = None  # None: whatever the main node runs (read from it)
    # a new number asks for a rolling refresh of MicroK8s within its channel (components/refresh.py)
    microk8s_refresh: Optional[int] = None
    datastore_backups: int   # kept on the main node and on each place a copy goes; 0: none taken
    external_services: Mapping[str, Secret] = field(default_factory=dict)
    answers: tuple[Answer, ...] = ()
    question_timeout_seconds: int
    timeout_minutes: int
    datastore_backup_host: Optional[BackupHost] = None   # a copy of each datastore backup goes there too


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None


@section("scaling")
class Scaling:
    autoscaling: Optional[Autoscaling] = None
    replicas: Mapping[str, int] = field(default_factory=dict)  # "all" first, then per service
    linkerd: bool


@section("ha")
class Ha:
    enabled: bool
    replicas: int     # required (and given) whenever HA is on: the rules say so
    failover_seconds: int


class BalancerHost(SshServer):
    """One HAProxy host."""


@section("haproxy.keepalived")
class Keepalived:
    """The virtual IP the balancers share: keepalived (VRRPv3) on each, the address on the live one."""
    address: str                 # the virtual IP, without a prefix length
    prefix_length: int
    interface: str               # where the VIP goes and VRRP speaks, the same name on every balancer
    virtual_router_id: int
    advert_interval: float
    preempt: bool
    config_path: str
    reload_command: str


@section("haproxy")
class Haproxy:
    balancers: tuple[BalancerHost, ...]   # `haproxy.hosts`, or the one `haproxy.host`
    bind: str
    backend_port: int
    config_path: str
    reload_command: str   # restart where a reload cannot work
    log: str   # where HAProxy sends its log (syslog): a socket path or <host>:<port>
    # shared: the host's own config (its `global`, other sites) stays; the program's sections go in
    # their own file, loaded beside it
    shared: bool
    include_path: str
    timeouts: HaproxyTimeouts = field(default_factory=lambda: HaproxyTimeouts())
    retries: int
    redispatch: bool
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


@section("haproxy.timeouts")
class HaproxyTimeouts:
    """HAProxy times (5s, 1m, 500ms; a bare number is milliseconds). Long client/server/tunnel
    timeouts keep websockets and long requests alive; short ones bound idle and slow clients."""
    connect: str
    client: str
    server: str
    tunnel: str
    client_fin: str
    http_request: str
    http_keep_alive: str
    queue: str
    check: str


@section("haproxy.healthCheck")
class HealthCheck:
    """`HEAD <path>` every `inter`; `fall` failures take a node out, `rise` successes bring it back."""
    path: str
    inter: str
    fall: int
    rise: int


@section("haproxy.stats")
class HaproxyStats:
    bind: str
    user: str
    password: Secret
    uri: str


@section("haproxy.tls")
class HaproxyTls:
    certificate: Secret  # PEM: certificate chain and private key
    bind: str
    certificate_path: str
    redirect_http: bool


@section("preflight")
class Preflight:
    """Checks every node before anything is installed (components/preflight.py)."""
    enabled: bool
    supported_os: tuple[str, ...]  # "<ID>" or "<ID>:<VERSION_ID prefix>"
    # The vendor's minimum for one ELMA365 On-Premises Enterprise server (500 users): 10 vCPU,
    # 16 GB RAM, 100 GB disk (elma365.com/en/help/elma365-enterprise-on-premises.html).
    min_cpu_cores: int
    min_memory_gib: float
    min_free_disk_gib: float
    disk_path: str
    max_clock_offset_ms: int
    port_timeout_seconds: int

    def thresholds(self) -> dict[str, Any]:
        """What the checks compare against, as in the config (the preflight's re-run trigger)."""
        return {key: value for key, value in view(self).items() if key != "enabled"}


@section("kubernetes")
class Kubernetes:
    """Node metadata managed through the Kubernetes API (components/kubernetes.py)."""
    enabled: bool
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)  # on every node


@section("")
class Site:
    ssh: Ssh
    nodes: tuple[Node, ...]
    # take over a site that already runs ELMA365 (README: "Take over a site that already runs
    # ELMA365"): no installer over it, and what runs there is recorded as the config states it
    adopt: bool
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
    violations, fields = parse(RawSite(values, frozenset(secret_keys)))
    if violations:
        raise SiteConfigError(violations)
    return build(Site, **fields)
