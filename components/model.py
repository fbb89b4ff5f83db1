"""The site config's model: one typed, frozen dataclass per config object, a field per key.

Each field declares its config key (components/keys.py: its name in camelCase, or `key=`), its default
(`setting(...)`, collected into rules/defaults.py's table), and whether it is secret (typed `Secret`:
it never leaves the model but as a Pulumi secret; components/site_view.py, the projection, leaves it
out). Pure: no Pulumi calls, no rules (components/rules/ check the raw config and build this model;
components/site.py is the front door).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional

from .keys import setting
from .site_view import view


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


@dataclass(frozen=True, kw_only=True)
class Bastion(SshServer):
    port: int = setting(22)  # its own, not ssh.port


@dataclass(frozen=True, kw_only=True)
class BackupHost(SshServer):
    """A host beside the site that keeps a copy of every datastore backup (install.datastoreBackupHost):
    its host key pinned, the main node's backup key authorized there for taking backups in only."""
    path: Optional[str] = None   # None: /var/lib/elma365-cluster/backups/<the main node's name>


@dataclass(frozen=True, kw_only=True)
class Ssh:
    user: str = setting('root')
    port: int = setting(22)
    private_key: Secret
    private_key_password: Optional[Secret] = None
    sudo: bool = setting(False)
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
    zone: Optional[str] = setting(None, public=False)  # Kubernetes topology labels (components/kubernetes.py)
    rack: Optional[str] = setting(None, public=False)
    labels: Mapping[str, str] = setting(factory=dict, public=False)
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


@dataclass(frozen=True, kw_only=True)
class Certificates:
    """Each node's `server.crt` and `front-proxy-client.crt` renewed by `pulumi up` this many days
    before they expire (components/certificates.py); 0: never. The CA is never renewed here."""
    # MicroK8s signs server.crt and front-proxy-client.crt for 365 days: renewed in the last 60
    renew_days_before: int = setting(60)


@dataclass(frozen=True, kw_only=True)
class Install:
    edition: str = setting('enterprise')
    installer_url: str = setting('https://dl.elma365.com/onPremise/master/latest/download')
    microk8s_channel: Optional[str] = None  # None: whatever the main node runs (read from it)
    # a new number asks for a rolling refresh of MicroK8s within its channel (components/refresh.py)
    microk8s_refresh: Optional[int] = setting(None, public=False)
    datastore_backups: int = setting(5)   # kept on the main node and on each place a copy goes; 0: none taken
    external_services: Mapping[str, Secret] = field(default_factory=dict)
    answers: tuple[Answer, ...] = setting((), public=False)   # the public view has their prompts only
    question_timeout_seconds: int = setting(30, public=False)
    timeout_minutes: int = setting(120, public=False)
    certificates: Certificates = field(default_factory=lambda: Certificates())
    datastore_backup_host: Optional[BackupHost] = None   # a copy of each datastore backup goes there too


@dataclass(frozen=True)
class Autoscaling:
    enabled: bool
    min_replicas: Optional[int] = None
    max_replicas: Optional[int] = None


@dataclass(frozen=True, kw_only=True)
class Scaling:
    autoscaling: Optional[Autoscaling] = None
    replicas: Mapping[str, int] = field(default_factory=dict)  # "all" first, then per service
    linkerd: bool = setting(True)


@dataclass(frozen=True, kw_only=True)
class Ha:
    enabled: bool = setting(False)
    replicas: int = setting(3, off_only=True)     # required (and given) whenever HA is on: the rules say so
    failover_seconds: int = setting(60, off_only=True)


class BalancerHost(SshServer):
    """One HAProxy host."""


@dataclass(frozen=True, kw_only=True)
class Keepalived:
    """The virtual IP the balancers share: keepalived (VRRPv3) on each, the address on the live one."""
    # the virtual IP (haproxy.virtualIp, no key of its own here): its address and prefix length
    address: str = setting(derived=True)
    prefix_length: int = setting(derived=True)
    interface: str               # where the VIP goes and VRRP speaks, the same name on every balancer
    virtual_router_id: int = setting(51)
    advert_interval: float = setting(0.5)
    preempt: bool = setting(False)
    config_path: str = setting('/etc/keepalived/keepalived.conf')
    reload_command: str = setting('systemctl reload-or-restart keepalived')


@dataclass(frozen=True, kw_only=True)
class Haproxy:
    balancers: tuple[BalancerHost, ...] = setting(key="hosts")   # `haproxy.hosts`, or the one `haproxy.host`
    bind: str = setting('*:80')
    backend_port: int = setting(80)
    config_path: str = setting('/etc/haproxy/haproxy.cfg')
    reload_command: str = setting('systemctl reload-or-restart haproxy')   # restart where a reload cannot work
    log: str = setting('/dev/log')   # where HAProxy sends its log (syslog): a socket path or <host>:<port>
    # shared: the host's own config (its `global`, other sites) stays; the program's sections go in
    # their own file, loaded beside it
    shared: bool = setting(False)
    include_path: str = setting('/etc/haproxy/conf.d/elma365-cluster.cfg')
    timeouts: HaproxyTimeouts = field(default_factory=lambda: HaproxyTimeouts())
    retries: int = setting(3)
    redispatch: bool = setting(True)
    health_check: HealthCheck = field(default_factory=lambda: HealthCheck())
    stats: Optional[HaproxyStats] = None
    tls: Optional[HaproxyTls] = None
    keepalived: Optional[Keepalived] = None

    @property
    def host(self) -> str:
        """The first (or only) balancer's address."""
        return self.balancers[0].host

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


@dataclass(frozen=True, kw_only=True)
class HaproxyTimeouts:
    """HAProxy times (5s, 1m, 500ms; a bare number is milliseconds). Long client/server/tunnel
    timeouts keep websockets and long requests alive; short ones bound idle and slow clients."""
    connect: str = setting('5s')
    client: str = setting('1m')
    server: str = setting('10m')
    tunnel: str = setting('1h')
    client_fin: str = setting('30s')
    http_request: str = setting('10s')
    http_keep_alive: str = setting('10s')
    queue: str = setting('30s')
    check: str = setting('2s')


@dataclass(frozen=True, kw_only=True)
class HealthCheck:
    """`HEAD <path>` every `inter`; `fall` failures take a node out, `rise` successes bring it back."""
    path: str = setting('/')
    inter: str = setting('1s')
    fall: int = setting(2)
    rise: int = setting(2)


@dataclass(frozen=True, kw_only=True)
class HaproxyStats:
    bind: str
    uri: str = setting('/')
    user: str
    password: Secret


@dataclass(frozen=True, kw_only=True)
class HaproxyTls:
    bind: str = setting('*:443')
    certificate: Secret  # PEM: certificate chain and private key
    certificate_path: str = setting('/etc/haproxy/elma365.pem')
    redirect_http: bool = setting(True)


@dataclass(frozen=True, kw_only=True)
class Preflight:
    """Checks every node before anything is installed (components/preflight.py)."""
    enabled: bool = setting(True)
    supported_os: tuple[str, ...] = setting(('ubuntu:20.04', 'ubuntu:22.04', 'ubuntu:24.04', 'debian:11', 'debian:12', 'astra:1.7', 'redos:7.3'))  # "<ID>" or "<ID>:<VERSION_ID prefix>"
    # The vendor's minimum for one ELMA365 On-Premises Enterprise server (500 users): 10 vCPU,
    # 16 GB RAM, 100 GB disk (elma365.com/en/help/elma365-enterprise-on-premises.html).
    min_cpu_cores: int = setting(10)
    min_memory_gib: float = setting(16, key="minMemoryGiB")
    min_free_disk_gib: float = setting(100, key="minFreeDiskGiB")
    disk_path: str = setting('/var/snap')
    max_clock_offset_ms: int = setting(500)
    port_timeout_seconds: int = setting(2)

    def thresholds(self) -> dict[str, Any]:
        """What the checks compare against, as in the config (the preflight's re-run trigger)."""
        return {key: value for key, value in view(self).items() if key != "enabled"}


@dataclass(frozen=True, kw_only=True)
class Kubernetes:
    """Node metadata managed through the Kubernetes API (components/kubernetes.py)."""
    enabled: bool = setting(False)
    labels: Mapping[str, str] = field(default_factory=dict, hash=False)  # on every node


@dataclass(frozen=True, kw_only=True)
class Site:
    # take over a site that already runs ELMA365 (docs/take-over.md): no installer over it, and what
    # runs there is recorded as the config states it
    adopt: bool = setting(False)
    ssh: Ssh
    nodes: tuple[Node, ...]
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
