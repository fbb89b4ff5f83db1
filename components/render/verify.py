"""`make verify`: a read-only check of the live site against its config. Pure functions only.

What runs on the servers (`host_script`: one SSH session per host, every command read-only), how
its output is read (`parse_*`), what it is compared with (`compare`: the site config, and what the
program renders from it, e.g. the HAProxy config), and how the result is printed (`report`), with
the one command that repairs each drift. components/verify.py only wires the SSH calls.

Figures taken from `elma365ctl status` (ELMA365 nodes up, HA mode and where it was rolled out,
autoscaling, Linkerd, external services, replica counts) rest on that command's output as the lab
simulates it: the vendor does not document it. A line it does not print is reported as a check
that was skipped, never as one that passed.
"""
from __future__ import annotations

import csv
import difflib
import hashlib
import io
import json
import re
import shlex
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from .. import names
from .. import site_view
from ..site import BalancerHost, Node, Site
from .answers import SERVICE_LABELS
from .facts import LONE_DATASTORE  # the datastore of a MicroK8s nobody joined (alone, or the first node)
from . import keepalived
from .haproxy import UnsupportedHaproxy, _host, haproxy_config, parse_version
from .shell import APPLIED_DIR, q, remote
from .template import Text, fill

MARK = "@@elma365-verify"
HAPROXY = "@haproxy"            # the HAProxy host's key among the hosts (a node may be called "haproxy")

OK, DRIFT, SKIP = "ok", "DRIFT", "skip"

# ------------------------------------------------------------------------------------------ remote

# Each section runs one read-only command; its output (stdout and stderr) and exit status come back
# between markers. Only the stats page read gets the session's stdin (its password); every other
# command reads /dev/null.
_SECTION = fill("verify-section.sh", mark=Text(MARK))

# `microk8s config` prints the admin credentials: only their kind leaves the node, never their value
KUBECONFIG_SUMMARY = ("$T microk8s config | awk '/^[[:space:]]*(apiVersion|kind|current-context|server):/ { print; next } "
                      "/^[[:space:]]*(token|client-certificate-data|client-key-data|password):/ "
                      "{ sub(/:.*/, \": <present>\"); print }'")


def node_sections(main: bool) -> list[tuple[str, str]]:
    """What is read on a node; the main node also answers for the cluster."""
    sections = [("status", "$T microk8s status"), ("version", "$T microk8s version"),
                ("snap", "$T snap list microk8s")]
    if main:
        sections += [("nodes", "$T microk8s kubectl get nodes"), ("elma365ctl", "$T elma365ctl status"),
                     ("kubeconfig", KUBECONFIG_SUMMARY)]
    return sections


def stats_url(bind: str, uri: str) -> str:
    """The stats page as seen from the HAProxy host itself (a wildcard bind answers on loopback)."""
    address = bind.split()[0]
    host, _, port = address.rpartition(":")
    if host in ("", "*", "0.0.0.0", "::", "[::]"):
        host = "127.0.0.1"
    return f"http://{host}:{port}{uri};csv"


def curl_config(user: str, password: str) -> str:
    """curl's `-K -` config on stdin: the stats credentials never reach a command line."""
    def quoted(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"user = {quoted(user + ':' + password)}\n"


SOCKET_LINE = re.compile(r"^\s*stats socket (\S+)", re.M)
# `show stat` on HAProxy's admin socket (read-only: a `show` command), with socat or else python3
_SHOW_STAT_PY = ("import socket,sys\n"
                 "s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(b'show stat\\n')\n"
                 "d=b''\n"
                 "while True:\n"
                 "    b=s.recv(65536)\n"
                 "    if not b: break\n"
                 "    d+=b\n"
                 "sys.stdout.write(d.decode(errors='replace'))\n")


def admin_socket(config: str) -> Optional[str]:
    """The admin socket an HAProxy config declares (`stats socket <path> ...` in `global`), if any."""
    m = SOCKET_LINE.search(config)
    return m.group(1) if m else None


def rendered_socket(site: Site) -> Optional[str]:
    """The admin socket of the config the program renders for this site (the line does not depend
    on the HAProxy version the config is rendered for)."""
    assert site.haproxy is not None
    return admin_socket(haproxy_config(site.haproxy, site.active, (2, 6)))


def show_stat_command(socket_path: str) -> str:
    return (f"sock={q(socket_path)}; "
            """if [ ! -S "$sock" ]; then echo "no admin socket at $sock"; exit 3; fi; """
            """if command -v socat >/dev/null 2>&1; then echo 'show stat' | $T socat -t 5 stdio "unix-connect:$sock"; """
            f"""elif command -v python3 >/dev/null 2>&1; then $T python3 -c {q(_SHOW_STAT_PY)} "$sock"; """
            """else echo 'neither socat nor python3 is installed on the HAProxy host'; exit 127; fi""")


def program_file(haproxy) -> str:
    """The file the program writes: the whole config, or on a shared host its own file beside the host's."""
    return getattr(haproxy, "target_path", haproxy.config_path)


def haproxy_sections(site: Site, with_stats: bool) -> list[tuple[str, str, bool]]:
    h = site.haproxy
    assert h is not None
    cfg = q(program_file(h))
    sections = [("haproxy-version", "haproxy -v", False),
                ("config", f"cat -- {cfg}", False),
                ("config-sha256", f"sha256sum < {cfg}", False)]
    for node in site.active:
        url = f"http://{_host(node.cluster_address)}:{h.backend_port}{h.health_check.path}"
        sections.append((f"health-{node.name}",
                         f"command -v curl >/dev/null || exit 127; $T curl -sS -o /dev/null -I --max-time 3 "
                         f"-w 'http_code=%{{http_code}}\\n' {q(url)}", False))
    socket_path = rendered_socket(site)
    if socket_path:
        sections.append(("backend-state", show_stat_command(socket_path), False))
    elif with_stats and h.stats:
        sections.append(("stats", f"command -v curl >/dev/null || exit 127; $T curl -sS --fail --max-time 5 -K - "
                                  f"{q(stats_url(h.stats.bind, h.stats.uri))}", True))
    k = h.keepalived
    if k is not None:
        sections += [("keepalived-config", f"cat -- {q(k.config_path)}", False),
                     ("keepalived-sha256", f"sha256sum < {q(k.config_path)}", False),
                     # a line when this balancer has the VIP on an interface, nothing when not
                     ("vip", f"ip -o addr show to {q(k.address)}", False)]
    return sections


def host_script(site: Site, sections: Sequence[tuple]) -> str:
    """One command line for one host: every section, then exit 0 (a failed read is a finding)."""
    lines = [_SECTION]
    for name, command, *rest in sections:
        lines.append(f"section {q(name)} {q(command)}" + (" stdin" if rest and rest[0] else ""))
    lines.append("exit 0")
    return remote("\n".join(lines), sudo=site.ssh.needs_sudo)


# ------------------------------------------------------------------------------------------ parsing

@dataclass(frozen=True)
class Section:
    rc: int
    out: str


@dataclass
class HostOutput:
    """What one host answered: its sections, or why it could not be reached."""
    reachable: bool
    sections: dict[str, Section] = field(default_factory=dict)
    error: str = ""


def parse_sections(stdout: str) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    name, lines = None, []
    begin, end = re.compile(rf"^{MARK} begin (\S+)$"), re.compile(rf"^{MARK} end (\S+) (\d+)$")
    for line in stdout.splitlines():
        if name is None:
            m = begin.match(line)
            if m:
                name, lines = m.group(1), []
            continue
        m = end.match(line)
        if m and m.group(1) == name:
            sections[name] = Section(int(m.group(2)), "\n".join(lines))
            name = None
        else:
            lines.append(line)
    return sections


@dataclass(frozen=True)
class Microk8sStatus:
    running: bool
    high_availability: Optional[str] = None     # "yes" / "no"
    masters: tuple[str, ...] = ()               # datastore voters, host:port
    standby: tuple[str, ...] = ()


def parse_microk8s_status(text: str) -> Microk8sStatus:
    running = bool(re.search(r"^microk8s is running\b", text, re.M))
    ha = re.search(r"^\s*high-availability:\s*(\S+)", text, re.M)

    def addresses(label: str) -> tuple[str, ...]:
        m = re.search(rf"^\s*datastore {label} nodes:\s*(.*)$", text, re.M)
        if not m or m.group(1).strip() in ("", "none"):
            return ()
        return tuple(a for a in re.split(r"[\s,]+", m.group(1).strip()) if a)
    return Microk8sStatus(running, ha.group(1) if ha else None, addresses("master"), addresses("standby"))


def parse_kubectl_nodes(text: str) -> dict[str, tuple[str, str]]:
    """`kubectl get nodes`: {name: (STATUS, VERSION)}."""
    rows: dict[str, tuple[str, str]] = {}
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0][:2] != ["NAME", "STATUS"]:
        return rows
    header = lines[0]
    at = header.index("VERSION") if "VERSION" in header else None
    for cells in lines[1:]:
        if len(cells) >= 2:
            rows[cells[0]] = (cells[1], cells[at] if at is not None and len(cells) > at else "")
    return rows


def parse_microk8s_version(text: str) -> Optional[tuple[str, str]]:
    """`microk8s version`: (version, revision), e.g. ("v1.28.15", "7449")."""
    m = re.search(r"MicroK8s\s+(v\S+)\s+revision\s+(\S+)", text)
    return (m.group(1), m.group(2)) if m else None


def parse_snap_list(text: str) -> Optional[dict[str, str]]:
    """`snap list microk8s`: {version, rev, tracking}."""
    lines = [line.split() for line in text.splitlines() if line.strip()]
    if not lines or lines[0][:1] != ["Name"]:
        return None
    header = [h.lower() for h in lines[0]]
    for cells in lines[1:]:
        if cells and cells[0] == "microk8s":
            row = dict(zip(header, cells))
            return {"version": row.get("version", ""), "rev": row.get("rev", ""), "tracking": row.get("tracking", "")}
    return None


def parse_elma365ctl_status(text: str) -> dict[str, str]:
    """`elma365ctl status` (undocumented by the vendor; as the lab prints it): `key: value` lines."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith(" "):
            fields[key.strip().lower()] = value.strip()
    return fields


def parse_ctl_nodes(value: str) -> dict[str, str]:
    """`nodes: elma365-1(up), elma365-2(down)` -> {name: up/down}."""
    return {m.group(1): m.group(2) for m in re.finditer(r"([^\s,()]+)\((\w+)\)", value)}


def parse_ctl_ha(value: str) -> Optional[tuple[bool, Optional[int], Optional[int]]]:
    """`enabled (replicas 3, failover 30s)` / `disabled` -> (enabled, replicas, failover)."""
    if value.startswith("disabled"):
        return (False, None, None)
    m = re.match(r"enabled\s*\(replicas (\d+), failover (\d+)s\)", value)
    return (True, int(m.group(1)), int(m.group(2))) if m else None


def parse_ctl_autoscaling(value: str) -> Optional[tuple[bool, Optional[int], Optional[int]]]:
    if value.startswith("disabled"):
        return (False, None, None)
    m = re.match(r"enabled\s*\(min (\d+), max (\d+)\)", value)
    return (True, int(m.group(1)), int(m.group(2))) if m else None


def parse_ctl_replicas(value: str) -> Optional[dict[str, int]]:
    """`{"all": 3, "main": 2}` or `default` (nothing scaled)."""
    if value == "default":
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else None


def parse_list(value: str) -> list[str]:
    return [] if value in ("", "none") else [v.strip() for v in value.split(",") if v.strip()]


def parse_kubeconfig_summary(text: str) -> dict[str, str]:
    """The lines KUBECONFIG_SUMMARY lets through: {apiVersion, kind, server, credentials}."""
    found: dict[str, str] = {}
    creds = []
    for line in text.splitlines():
        key, _, value = line.strip().partition(":")
        if key in ("apiVersion", "kind", "server", "current-context"):
            found.setdefault(key, value.strip())
        elif value.strip() == "<present>":
            creds.append(key)
    if creds:
        found["credentials"] = ", ".join(creds)
    return found


def parse_curl_health(section: Section) -> tuple[Optional[int], str]:
    """(HTTP status or None, what went wrong)."""
    if section.rc == 127:
        return None, "curl is not installed on the HAProxy host"
    m = re.search(r"http_code=(\d{3})", section.out)
    code = int(m.group(1)) if m else None
    rest = " ".join(line.strip() for line in section.out.splitlines() if not line.startswith("http_code="))
    reasons = {7: "connection refused", 28: "timed out", 52: "empty reply", 56: "connection reset"}
    reason = rest or reasons.get(section.rc, f"curl exited {section.rc}" if section.rc else "")
    return (code if code else None), reason


def parse_stats_csv(text: str, proxy: str = "elma365_web") -> dict[str, str]:
    """HAProxy's stats CSV: {server: status} of `proxy`'s servers (UP, DOWN, MAINT, ...)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    reader = csv.DictReader(io.StringIO("\n".join([lines[0][2:]] + lines[1:])))
    return {row["svname"]: row.get("status", "") for row in reader
            if row.get("pxname") == proxy and row.get("svname") not in ("FRONTEND", "BACKEND")}


STATS_AUTH = re.compile(r"^(\s*stats auth [^:\s]+):\S+$", re.M)


def mask_secrets(config: str) -> str:
    """An HAProxy config as it may be shown or compared without its stats password."""
    return STATS_AUTH.sub(r"\1:<secret>", config)


def config_difference(expected: str, live: str) -> str:
    """What differs, in a few words (never the stats password)."""
    exp, got = mask_secrets(expected).splitlines(), mask_secrets(live).splitlines()
    diff = [line for line in difflib.unified_diff(exp, got, lineterm="", n=0) if not line.startswith(("+++", "---"))]
    counts = f"+{sum(1 for d in diff if d[:1] == '+')}/-{sum(1 for d in diff if d[:1] == '-')} lines"
    for i in range(max(len(exp), len(got))):
        a = exp[i] if i < len(exp) else "<none>"
        b = got[i] if i < len(got) else "<none>"
        if a != b:
            return f"differs ({counts}); line {i + 1} is {b.strip()!r}, applied {a.strip()!r}"
    return "differs (whitespace at the end)"


# ------------------------------------------------------------------------------------------ repairs

@dataclass(frozen=True)
class Target:
    """How the operator reaches a host with ssh."""
    address: str
    port: int
    user: str

    def ssh(self, commands: Sequence[str], bastion: Optional[str] = None) -> str:
        sudo = "" if self.user == "root" else "sudo "
        remote_cmd = " && ".join(sudo + c for c in commands)
        if len(commands) > 1 or re.search(r"[^\w\s=./:,@+-]", remote_cmd):
            remote_cmd = shlex.quote(remote_cmd)
        port = "" if self.port == 22 else f"-p {self.port} "
        jump = f"-J {bastion} " if bastion else ""
        return f"ssh {port}{jump}{self.user}@{self.address} {remote_cmd}"


@dataclass(frozen=True)
class Repair:
    """The one command line that repairs a drift (`text`), and what it consists of, for tests:
    commands per host over SSH (in order), then `pulumi up --replace` of these URNs. `manual`:
    nothing run from here repairs it; `text` says what to do."""
    text: str
    ssh: tuple[tuple[str, tuple[str, ...]], ...] = ()
    replace: tuple[str, ...] = ()
    manual: bool = False


@dataclass(frozen=True)
class Context:
    stack: Optional[str] = None          # the Pulumi stack (for `pulumi up --stack`)
    project: str = "elma365-cluster"
    unread_secrets: frozenset[str] = frozenset()   # config paths whose secret value was not read
    # step name -> URN, as the stack has them (`pulumi stack export`); a step not there gets the
    # URN components/names.py gives it
    urns: Mapping[str, str] = field(default_factory=dict)


def balancers(site: Site) -> list[tuple[str, int, BalancerHost]]:
    """(key among the hosts, index, balancer) for each HAProxy host: `@haproxy` for the one
    balancer, `@haproxy:<host>` for each of several."""
    h = site.haproxy
    if h is None:
        return []
    many = len(h.balancers) > 1
    return [(f"{HAPROXY}:{b.host}" if many else HAPROXY, i, b) for i, b in enumerate(h.balancers)]


def targets(site: Site) -> dict[str, Target]:
    return {key: Target(*where) for key, where in site_view.targets(site, [key for key, _, _ in balancers(site)]).items()}


def _bastion(site: Site) -> Optional[str]:
    b = site.ssh.bastion
    if not b:
        return None
    return f"{b.user or site.ssh.user}@{b.host}" + ("" if b.port == 22 else f":{b.port}")


def urn(ctx: Context, step: str) -> str:
    return ctx.urns.get(step) or names.urn(ctx.stack or "<stack>", ctx.project, step)


def _pulumi_up(ctx: Context, urns: Sequence[str]) -> str:
    stack = f" --stack {ctx.stack}" if ctx.stack else ""
    return f"pulumi up{stack}" + "".join(f" --replace {shlex.quote(u)}" for u in urns)


def ssh_repair(site: Site, host: str, *commands: str) -> Repair:
    return Repair(targets(site)[host].ssh(commands, _bastion(site)), ssh=((host, tuple(commands)),))


def steps_repair(site: Site, ctx: Context, forget: Mapping[str, Sequence[str]], urns: Sequence[str]) -> Repair:
    """Steps of the program to run again: their records on the nodes are emptied (an empty digest
    never matches, so each step's guard runs its vendor tool), then `pulumi up --replace` runs
    exactly those steps (Pulumi runs a step only when its inputs change, so a plain `pulumi up`
    after a change by hand runs nothing)."""
    hosts = targets(site)
    ssh = tuple((host, (f"truncate -s 0 {' '.join(f'{APPLIED_DIR}/{s}' for s in steps)}",))
                for host, steps in forget.items() if steps)
    parts = [hosts[host].ssh(cmds, _bastion(site)) for host, cmds in ssh]
    parts.append(_pulumi_up(ctx, urns))
    return Repair(" && ".join(parts), ssh=ssh, replace=tuple(urns))


def settings_repair(site: Site, ctx: Context, ha: bool, settings: bool) -> Repair:
    """`elma365ctl reconfigure` again through the program (it answers every setting from the
    config, secrets included); with `ha` the update-hamode roll-out and the restart after it; with
    `settings` (autoscaling, Linkerd, external services) the scale commands after it."""
    main = site.main.name
    forget: dict[str, list[str]] = {main: ["settings"]}
    urns = [urn(ctx, names.RECONFIGURE)]
    if settings and not (site.scaling.autoscaling and site.scaling.autoscaling.enabled):
        forget[main] += [names.scale(s) for s in site.scaling.replicas]
        urns += [urn(ctx, names.scale(s)) for s in site.scaling.replicas]
    if ha:
        for node in site.active:
            forget.setdefault(node.name, []).append("hamode")
            urns.append(urn(ctx, names.update_hamode(node.name)))
        forget[main].append("restart")
        urns.append(urn(ctx, names.RESTART))
    return steps_repair(site, ctx, forget, urns)


def rejoin_repair(site: Site, ctx: Context, node: Node, listed: bool) -> Repair:
    """A node that is not in the cluster (it left by hand, or its join failed): the program's join
    again, with a fresh token from the main node. A node that left stays a (NotReady) Node on the
    main node until `microk8s remove-node`, and add-node refuses a node listed there; with HA on, the
    node's update-hamode and the restart after it run again too (the join forgets what the node
    applied; the restart's record on the main node is emptied)."""
    on_main = ([f"microk8s remove-node {node.name}"] if listed else []) + \
        ([f"truncate -s 0 {APPLIED_DIR}/restart"] if site.ha.enabled else [])
    urns = [urn(ctx, names.add_node(node.name))]
    if site.ha.enabled:
        urns += [urn(ctx, names.update_hamode(node.name)), urn(ctx, names.RESTART)]
    ssh = ((site.main.name, tuple(on_main)),) if on_main else ()
    parts = [targets(site)[site.main.name].ssh(on_main, _bastion(site))] if on_main else []
    return Repair(" && ".join(parts + [_pulumi_up(ctx, urns)]), ssh=ssh, replace=tuple(urns))


def haproxy_repair(site: Site, ctx: Context, balancer: Optional[BalancerHost] = None,
                   what: Sequence[str] = ("version", "config")) -> Repair:
    h = site.haproxy
    assert h is not None
    host = (balancer or h.balancers[0]).host
    # without the stack's URNs, the first balancer is taken to have the unsuffixed names
    urns = [urn(ctx, names.balancer(w, host, first=host == h.balancers[0].host)) for w in what]
    return Repair(_pulumi_up(ctx, urns), replace=tuple(urns))


def manual(text: str) -> Repair:
    return Repair(text, manual=True)


# ------------------------------------------------------------------------------------------ compare

@dataclass(frozen=True)
class Row:
    where: str        # a node, "cluster", or "haproxy"
    check: str
    expected: str     # from the config (or what the program renders from it)
    found: str
    status: str       # OK, DRIFT or SKIP
    repair: Optional[Repair] = None


def _channel_pin(site: Site) -> Optional[str]:
    return getattr(site.install, "microk8s_channel", None)


class _Compare:
    def __init__(self, site: Site, hosts: Mapping[str, HostOutput], ctx: Context):
        self.site, self.hosts, self.ctx = site, hosts, ctx
        self.rows: list[Row] = []
        self.main = site.main
        self.active = site.active
        main_out = hosts.get(self.main.name)
        self.main_ok = bool(main_out and main_out.reachable)
        self.node_status = {n.name: self._status_of(n) for n in self.active}
        self.joined = {n.name: self._joined(n) for n in self.active}
        self.kube_nodes: Optional[dict[str, tuple[str, str]]] = None
        self.kube_error = "the main node is unreachable"
        if self.main_ok:
            s = main_out.sections.get("nodes")
            if s is not None and s.rc == 0:
                self.kube_nodes = parse_kubectl_nodes(s.out)
                if not self.kube_nodes and s.out.strip():
                    self.kube_nodes, self.kube_error = None, f"unreadable output: {s.out.strip()[:80]!r}"
            else:
                self.kube_error = f"`microk8s kubectl get nodes` failed: {_last(s)}"
        self.ctl: Optional[dict[str, str]] = None
        self.ctl_error = "the main node is unreachable"
        if self.main_ok:
            s = main_out.sections.get("elma365ctl")
            if s is not None and s.rc == 0:
                self.ctl = parse_elma365ctl_status(s.out)
            else:
                self.ctl_error = f"`elma365ctl status` failed: {_last(s)}"

    def _joined(self, node: Node) -> Optional[bool]:
        """Whether the node's own MicroK8s is in the main node's cluster (its datastore lists the main
        node); None when it cannot tell (unreachable, not running)."""
        status = self.node_status.get(node.name)
        if node == self.main or status is None or not status.running:
            return None if node != self.main else True
        return f"{self.main.cluster_address}:19001" in set(status.masters) | set(status.standby)

    def rejoin(self, node: Node) -> Repair:
        return rejoin_repair(self.site, self.ctx, node, listed=bool(self.kube_nodes and node.name in self.kube_nodes))

    # -- helpers --------------------------------------------------------------------------------
    def add(self, where: str, check: str, expected: str, found: str, ok: Optional[bool],
            repair: Optional[Repair] = None) -> None:
        status = SKIP if ok is None else OK if ok else DRIFT
        self.rows.append(Row(where, check, expected, found, status, repair if status == DRIFT else None))

    def section(self, host: str, name: str) -> Optional[Section]:
        out = self.hosts.get(host)
        return out.sections.get(name) if out and out.reachable else None

    def _status_of(self, node: Node) -> Optional[Microk8sStatus]:
        s = self.section(node.name, "status")
        return parse_microk8s_status(s.out) if s is not None else None

    def unreachable(self, node: Node) -> Repair:
        t = targets(self.site)[node.name]
        return manual(f"bring {node.name} back (power, network, sshd): no command from here repairs it; "
                      f"`{t.ssh(['true'], _bastion(self.site))}` tells when it answers")

    def node_repair(self, node: Node) -> Repair:
        """What brings a node back into service, by what it says about itself."""
        out = self.hosts.get(node.name)
        if not out or not out.reachable:
            return self.unreachable(node)
        status = self.node_status.get(node.name)
        if status is not None and not status.running:
            return ssh_repair(self.site, node.name, "microk8s start")
        if node != self.main and (self.joined.get(node.name) is False or
                                  (self.kube_nodes is not None and node.name not in self.kube_nodes)):
            return self.rejoin(node)
        return manual(f"{node.name} runs MicroK8s but is not in service: no one command repairs it; "
                      f"look at `{targets(self.site)[node.name].ssh(['microk8s inspect'], _bastion(self.site))}`")

    # -- checks ---------------------------------------------------------------------------------
    def reachability(self) -> None:
        for node in self.active:
            out = self.hosts.get(node.name)
            if out and out.reachable:
                self.add(node.name, "reachable over SSH", "yes", "yes", True)
            else:
                error = out.error if out else "not checked"
                self.add(node.name, "reachable over SSH", "yes",
                         f"unreachable ({error}); its own checks did not run", False, self.unreachable(node))

    def microk8s_running(self) -> None:
        for node in self.active:
            s = self.section(node.name, "status")
            if s is None:
                continue
            status = self.node_status[node.name]
            if status.running:
                self.add(node.name, "MicroK8s running", "running", "running", True)
            else:
                found = "not running" if "not running" in s.out else f"unknown: {_last(s)}"
                self.add(node.name, "MicroK8s running", "running", found, False, self.node_repair(node))

    def ready(self) -> None:
        for node in self.active:
            check = "in the cluster and Ready"
            if self.kube_nodes is None:
                self.add(node.name, check, "Ready", f"not checked: {self.kube_error}", None)
                continue
            state = self.kube_nodes.get(node.name)
            if state is None:
                self.add(node.name, check, "Ready", "not in the cluster (kubectl get nodes)", False,
                         self.node_repair(node))
            elif state[0] == "Ready":
                self.add(node.name, check, "Ready", "Ready", True)
            elif state[0].split(",")[0] == "Ready":
                self.add(node.name, check, "Ready", state[0], False,
                         ssh_repair(self.site, self.main.name, f"microk8s kubectl uncordon {node.name}"))
            else:
                self.add(node.name, check, "Ready", state[0], False, self.node_repair(node))
        if self.kube_nodes is not None:
            wanted = {n.name for n in self.active}
            extra = sorted(set(self.kube_nodes) - wanted)
            self.add("cluster", "no node beyond the config", "none", ", ".join(extra) or "none", not extra,
                     self.extra_repair(extra))

    def extra_repair(self, extra: Sequence[str]) -> Repair:
        named = {n.name for n in self.site.decommissioned}
        if extra and all(e in named for e in extra):
            return Repair(f"pulumi up{f' --stack {self.ctx.stack}' if self.ctx.stack else ''}"
                          f" (its departure did not finish; the run tries it again)")
        return manual(f"{', '.join(extra)}: not in the config's nodes; add its entry with `decommission: true` "
                      f"(or \"force\" for a dead one) and run `pulumi up`")

    def datastore(self) -> None:
        status = self.node_status.get(self.main.name)
        where = "cluster"
        if status is None:
            self.add(where, "datastore voters (microk8s status)", "every active node", "not checked: the main node "
                     "is unreachable", None)
            return
        if not status.running:
            self.add(where, "datastore voters (microk8s status)", "every active node",
                     "not checked: MicroK8s is not running on the main node", None)
            return
        by_address = {f"{n.cluster_address}:19001": n for n in self.active}
        # A cluster of one (nobody ever joined) keeps its datastore on 127.0.0.1, as a lone MicroK8s
        # does; on the main node that voter is the main node itself.
        own = f"{self.main.cluster_address}:19001"
        voters = tuple(own if a == LONE_DATASTORE else a for a in status.masters)
        members = set(voters) | set(status.standby)
        missing = [by_address[a] for a in by_address if a not in members]
        n = len(self.active)
        need = min(n, 3)
        expected = (f"{need}+ of {', '.join(by_address)}" if n >= 3 else ", ".join(by_address))
        found = f"{len(status.masters)}: {' '.join(status.masters) or 'none'}"
        if status.standby:
            found += f" (standby: {' '.join(status.standby)})"
        extra = sorted(a for a in members if a not in by_address)
        ok = not missing and not extra and len(voters) >= (need if n >= 3 else 1)
        repair = None
        if missing:
            repair = self.node_repair(missing[0]) if missing[0] == self.main else self.rejoin(missing[0])
        elif extra:
            repair = manual(f"datastore members {', '.join(extra)} are no node of the config: add their entries with "
                            f"`decommission: true` and run `pulumi up`")
        elif not ok:
            repair = manual("fewer datastore voters than MicroK8s keeps with 3+ nodes: the nodes above that are not "
                            "in service come first; MicroK8s promotes voters by itself")
        self.add(where, "datastore voters (microk8s status)", expected, found, ok, repair)
        want_ha = "yes" if n >= 3 else "no"
        got_ha = status.high_availability or "(not printed)"
        self.add(where, "MicroK8s high-availability", want_ha, got_ha,
                 None if status.high_availability is None else got_ha == want_ha,
                 repair or manual("MicroK8s sets high-availability by its voters: see the rows above"))

    def versions(self) -> None:
        main_version = self.section(self.main.name, "version")
        main_snap = self.section(self.main.name, "snap")
        reference = parse_microk8s_version(main_version.out) if main_version else None
        tracking = (parse_snap_list(main_snap.out) or {}).get("tracking") if main_snap else None
        pin = _channel_pin(self.site)
        for node in self.active:
            s = self.section(node.name, "version")
            if s is None:
                # unreachable: the main node's `kubectl get nodes` still tells its kubelet's version
                listed = (self.kube_nodes or {}).get(node.name)
                if listed and listed[1] and reference is not None and node != self.main:
                    ok = listed[1] == reference[0]
                    self.add(node.name, "MicroK8s version", f"{reference[0]} (as {self.main.name})",
                             f"{listed[1]} (kubectl get nodes on {self.main.name})", ok,
                             self.unreachable(node) if not ok else None)
                continue
            mine = parse_microk8s_version(s.out)
            snap = self.section(node.name, "snap")
            channel = (parse_snap_list(snap.out) or {}).get("tracking") if snap else None
            found = (f"{mine[0]} (rev {mine[1]}" + (f", {channel}" if channel else "") + ")") if mine else \
                f"unknown: {_last(s)}"
            if node == self.main:
                if pin and channel and channel != pin:
                    self.add(node.name, "MicroK8s version", f"{pin} (install.microk8sChannel)", found, False,
                             Repair(f"pulumi config set{f' --stack {self.ctx.stack}' if self.ctx.stack else ''} "
                                    f"--path elma365:install.microk8sChannel {channel} (the main node's; a node "
                                    f"joining later gets it)"))
                else:
                    self.add(node.name, "MicroK8s version", "the same on every node (this is the reference)",
                             found, True if mine else None)
                continue
            if reference is None:
                self.add(node.name, "MicroK8s version", "the main node's (unknown)", found, None)
                continue
            expected = f"{reference[0]} (as {self.main.name}" + (f", {tracking}" if tracking else "") + ")"
            ok = bool(mine) and mine[0] == reference[0]
            repair = (ssh_repair(self.site, node.name, f"snap refresh microk8s --channel={tracking}") if tracking else
                      manual(f"the main node's snap channel is unknown (snap list microk8s): refresh {node.name}'s "
                             f"MicroK8s to {reference[0]}"))
            self.add(node.name, "MicroK8s version", expected, found, ok, repair)

    def ctl_field(self, name: str, check: str, expected: str) -> Optional[str]:
        """One line of `elma365ctl status`, or None after a skipped row saying why."""
        if self.ctl is None:
            self.add("cluster", check, expected, f"not checked: {self.ctl_error}", None)
            return None
        if name not in self.ctl:
            self.add("cluster", check, expected, f"not checked: `elma365ctl status` printed no {name!r} line", None)
            return None
        return self.ctl[name]

    def elma365(self) -> None:
        site = self.site
        src = " (elma365ctl status)"
        # ELMA365's own view of its nodes
        expected = ", ".join(f"{n.name}(up)" for n in self.active)
        value = self.ctl_field("nodes", "ELMA365 nodes up" + src, expected)
        if value is not None:
            nodes = parse_ctl_nodes(value)
            bad = [n for n in self.active if nodes.get(n.name) != "up"]
            extra = [n for n in nodes if n not in {a.name for a in self.active}]
            self.add("cluster", "ELMA365 nodes up" + src, expected, value or "none", not bad and not extra,
                     self.node_repair(bad[0]) if bad else self.extra_repair(extra))
        # the settings reconfigure applies
        settings_drift: list[tuple[str, str, str, str]] = []   # (check, expected, found, part)
        ha = site.ha
        want = f"enabled (replicas {ha.replicas}, failover {ha.failover_seconds}s)" if ha.enabled else "disabled"
        value = self.ctl_field("high availability", "HA mode" + src, want)
        ha_ok = True
        if value is not None:
            got = parse_ctl_ha(value)
            if got is None:
                self.add("cluster", "HA mode" + src, want, f"not checked: unreadable {value!r}", None)
            else:
                ha_ok = got == ((True, ha.replicas, ha.failover_seconds) if ha.enabled else (False, None, None))
                settings_drift += [] if ha_ok else [("HA mode" + src, want, value, "ha")]
                if ha_ok:
                    self.add("cluster", "HA mode" + src, want, value, True)
        if ha.enabled:
            want_on = ", ".join(n.name for n in self.active)
            value = self.ctl_field("hamode updated on", "HA mode rolled out on" + src, want_on)
            if value is not None:
                done = parse_list(value)
                missing = [n for n in self.active if n.name not in done]
                out_of_cluster = [n for n in missing if n != self.main and (
                    self.joined.get(n.name) is False or (self.kube_nodes is not None and n.name not in self.kube_nodes))]
                if out_of_cluster and ha_ok:
                    self.add("cluster", "HA mode rolled out on" + src, want_on, value, False,
                             self.rejoin(out_of_cluster[0]))
                elif missing:
                    settings_drift.append(("HA mode rolled out on" + src, want_on, value, "ha"))
                else:
                    self.add("cluster", "HA mode rolled out on" + src, want_on, value, True)
        auto = site.scaling.autoscaling
        scaling_said = auto is not None or bool(site.scaling.replicas)
        if scaling_said:
            enabled = bool(auto and auto.enabled)
            want = f"enabled (min {auto.min_replicas}, max {auto.max_replicas})" if enabled else "disabled"
            value = self.ctl_field("autoscaling", "autoscaling" + src, want)
            if value is not None:
                got = parse_ctl_autoscaling(value)
                if got is None:
                    self.add("cluster", "autoscaling" + src, want, f"not checked: unreadable {value!r}", None)
                elif got != ((True, auto.min_replicas, auto.max_replicas) if enabled else (False, None, None)):
                    settings_drift.append(("autoscaling" + src, want, value, "settings"))
                else:
                    self.add("cluster", "autoscaling" + src, want, value, True)
            want = "enabled" if site.scaling.linkerd or enabled else "disabled"
            value = self.ctl_field("linkerd", "Linkerd" + src, want)
            if value is not None:
                if value.split()[0:1] != [want]:
                    settings_drift.append(("Linkerd" + src, want, value, "settings"))
                else:
                    self.add("cluster", "Linkerd" + src, want, value, True)
        want_ext = sorted(SERVICE_LABELS[k] for k in site.install.external_services)
        value = self.ctl_field("external services", "external services" + src, ", ".join(want_ext) or "none")
        if value is not None:
            if sorted(parse_list(value)) != want_ext:
                settings_drift.append(("external services" + src, ", ".join(want_ext) or "none", value, "settings"))
            else:
                self.add("cluster", "external services" + src, ", ".join(want_ext) or "none", value, True)
        replicas_drift = self.replicas(src)
        if settings_drift or replicas_drift:
            # one line repairs them all: with settings to apply, the program's steps (the scale steps
            # too when a count drifted); counts alone, the scale commands on the main node
            parts = {part for *_, part in settings_drift}
            together = (settings_repair(site, self.ctx, ha="ha" in parts,
                                        settings="settings" in parts or bool(replicas_drift)) if parts else
                        ssh_repair(site, self.main.name,
                                   *(f"elma365ctl scale {s} {n}" for s, n in site.scaling.replicas.items())))
            for check, expected, found, _ in settings_drift:
                self.add("cluster", check, expected, found, False, together)
            for check, expected, found in replicas_drift:
                self.add("cluster", check, expected, found, False, together)

    def replicas(self, src: str) -> list[tuple[str, str, str]]:
        """Rows of replica counts; the drifted ones are returned for the caller to add."""
        site = self.site
        wanted = dict(site.scaling.replicas)
        if not wanted or (site.scaling.autoscaling and site.scaling.autoscaling.enabled):
            return []
        value = self.ctl_field("replicas", "replicas" + src, ", ".join(f"{s} {n}" for s, n in wanted.items()))
        if value is None:
            return []
        found = parse_ctl_replicas(value)
        if found is None:
            self.add("cluster", "replicas" + src, json.dumps(wanted), f"not checked: unreadable {value!r}", None)
            return []
        drift = []
        services = list(wanted) + sorted(s for s in found if s not in wanted and "all" in wanted)
        for service in services:
            want = wanted.get(service, wanted.get("all"))
            have = found.get(service, found.get("all") if service != "all" else None)
            check = f"replicas: {service}" + src
            shown = "default" if have is None else str(have)
            if have != want:
                drift.append((check, str(want) + ("" if service in wanted else " (as all)"), shown))
            else:
                self.add("cluster", check, str(want), shown, True)
        return drift

    def kubeconfig(self) -> None:
        check = "kubeconfig readable (microk8s config)"
        s = self.section(self.main.name, "kubeconfig")
        expected = "a kubeconfig with a server and credentials"
        if s is None:
            self.add(self.main.name, check, expected, "not checked: the main node is unreachable", None)
            return
        summary = parse_kubeconfig_summary(s.out)
        ok = s.rc == 0 and summary.get("kind") == "Config" and bool(summary.get("server")) and "credentials" in summary
        found = (f"readable: server {summary['server']}, credentials ({summary['credentials']})" if ok else
                 f"not readable: {_last(s) or 'no server or credentials in it'}")
        self.add(self.main.name, check, expected, found, ok, self.node_repair(self.main))

    def backend_states(self, key: str, b: BalancerHost, where: str, section: Optional[Section], source: str) -> None:
        """One row per active node from HAProxy's stats CSV (`show stat` or the stats page)."""
        h = self.site.haproxy
        check = "backend state (HAProxy's view)"
        if section is None:
            self.add(where, check, "every server UP", f"not checked: the {source} was not read", None)
            return
        if section.rc == 127:
            self.add(where, check, "every server UP", f"not checked: {_last(section)}", None)
            return
        states = parse_stats_csv(section.out) if section.rc == 0 else {}
        if not states:
            found = (f"HAProxy is not running or has no admin socket ({_last(section)})" if section.rc == 3 else
                     f"{source} unreadable: {_last(section)}")
            repair = (ssh_repair(self.site, key, h.reload_command) if section.rc == 3 else
                      haproxy_repair(self.site, self.ctx, b))
            self.add(where, check, "every server UP", found, False, repair)
            return
        for node in self.active:
            state = states.get(node.name, "not in the live config")
            self.add(where, f"backend {node.name} state ({source.split(' /')[0]})", "UP", state, state == "UP",
                     haproxy_repair(self.site, self.ctx, b) if node.name not in states else self.node_repair(node))

    def haproxy(self) -> None:
        for key, index, b in balancers(self.site):
            self.balancer(key, index, b)
        self.virtual_ip_holders()

    def balancer(self, key: str, index: int, b: BalancerHost) -> None:
        h = self.site.haproxy
        assert h is not None
        where = f"haproxy {b.host}"
        out = self.hosts.get(key)
        t = targets(self.site)[key]
        if not out or not out.reachable:
            self.add(where, "reachable over SSH", "yes", f"unreachable ({out.error if out else 'not checked'}); "
                     "its checks did not run", False,
                     manual(f"bring the HAProxy host back (power, network, sshd): no command from here repairs it; "
                            f"`{t.ssh(['true'], _bastion(self.site))}` tells when it answers"))
            return
        self.add(where, "reachable over SSH", "yes", "yes", True)
        version_out = out.sections.get("haproxy-version")
        config = out.sections.get("config")
        digest = out.sections.get("config-sha256")
        check = f"live {program_file(h)} = applied"
        try:
            version = parse_version(version_out.out if version_out else "")
        except UnsupportedHaproxy as exc:
            self.add(where, check, "the program's rendering", f"not checked: {exc}", None)
            version = None
        if version is not None:
            expected = haproxy_config(h, self.active, version)
            expected_hash = hashlib.sha256(expected.encode()).hexdigest()
            label = f"as rendered for HAProxy {version[0]}.{version[1]} (sha256 {expected_hash[:12]})"
            masked = "haproxy.stats.password" in self.ctx.unread_secrets and h.stats is not None
            if config is None or config.rc != 0:
                self.add(where, check, label, f"not readable: {_last(config)}", False, haproxy_repair(self.site, self.ctx, b))
            elif masked:
                same = mask_secrets(expected).rstrip("\n") == mask_secrets(config.out).rstrip("\n")
                note = " (the stats password not compared: a secret this form does not read)"
                self.add(where, check, label, ("identical" if same else config_difference(expected, config.out)) + note,
                         same, haproxy_repair(self.site, self.ctx, b))
            else:
                live_hash = digest.out.split()[0] if digest and digest.rc == 0 and digest.out.split() else ""
                same = live_hash == expected_hash
                found = "identical" if same else config_difference(expected, config.out)
                self.add(where, check, label, found, same, haproxy_repair(self.site, self.ctx, b))
        # HAProxy's own view of its backends: its admin socket, or its stats page, or nothing to read it by
        socket_path = admin_socket(expected) if version is not None else rendered_socket(self.site)
        check = "backend state (HAProxy's view)"
        if socket_path:
            self.backend_states(key, b, where, out.sections.get("backend-state"), f"admin socket {socket_path}")
        elif h.stats is None:
            self.add(where, check, "every server UP",
                     "not checked: the program's config has no admin socket and no stats page (haproxy.stats)", None)
        elif "haproxy.stats.password" in self.ctx.unread_secrets or out.sections.get("stats") is None:
            self.add(where, check, "every server UP",
                     "not checked: the stats password is a secret this form does not read", None)
        else:
            self.backend_states(key, b, where, out.sections.get("stats"), "stats page")
        # the same check HAProxy makes, from its host
        for node in self.active:
            s = out.sections.get(f"health-{node.name}")
            check = f"backend {node.name} health: HEAD {h.health_check.path} :{h.backend_port}"
            if s is None:
                continue
            code, reason = parse_curl_health(s)
            if s.rc == 127:
                self.add(where, check, "2xx or 3xx", f"not checked: {reason}", None)
                continue
            ok = code is not None and 200 <= code < 400
            found = (f"{code}" if code else "no answer") + (f" ({reason})" if reason and not ok else "")
            self.add(where, check, "2xx or 3xx", found, ok, self.node_repair(node))
        if h.keepalived:
            self.keepalived(index, b, where, out)

    def keepalived(self, index: int, b: BalancerHost, where: str, out: HostOutput) -> None:
        """The balancer's VRRP instance: the live keepalived.conf is the one rendered for it."""
        h = self.site.haproxy
        assert h is not None and h.keepalived is not None
        expected = keepalived.keepalived_config(h, index)
        expected_hash = hashlib.sha256(expected.encode()).hexdigest()
        config, digest = out.sections.get("keepalived-config"), out.sections.get("keepalived-sha256")
        check = f"live {h.keepalived.config_path} = applied"
        label = f"as rendered for balancer {index + 1} (sha256 {expected_hash[:12]})"
        repair = haproxy_repair(self.site, self.ctx, b, ("keepalived",))
        if config is None or config.rc != 0:
            self.add(where, check, label, f"not readable: {_last(config)}", False, repair)
            return
        live_hash = digest.out.split()[0] if digest and digest.rc == 0 and digest.out.split() else ""
        same = live_hash == expected_hash
        self.add(where, check, label, "identical" if same else config_difference(expected, config.out), same, repair)

    def virtual_ip_holders(self) -> None:
        """Exactly one balancer has the virtual IP on its interface (keepalived's job)."""
        h = self.site.haproxy
        if h is None or h.keepalived is None:
            return
        vip, read, holders = h.keepalived.address, [], []
        for key, _, b in balancers(self.site):
            s = self.hosts[key].sections.get("vip") if self.hosts.get(key) and self.hosts[key].reachable else None
            if s is not None and s.rc == 0:
                read.append(b.host)
                if s.out.strip():
                    holders.append(b.host)
        check = f"virtual IP {vip}"
        expected = "held by exactly one balancer"
        if not read:
            self.add("cluster", check, expected, "not checked: no balancer could be read", None)
        elif len(holders) == 1:
            self.add("cluster", check, expected, f"held by {holders[0]}", True)
        else:
            found = f"held by {', '.join(holders)}" if holders else f"held by none of {', '.join(read)}"
            self.add("cluster", check, expected, found, False,
                     manual("check keepalived on the balancers (systemctl status keepalived; journalctl -u "
                            "keepalived): both holding it means they do not hear each other's VRRP adverts "
                            "(multicast 224.0.0.18 or a firewall), none means no balancer passes its check"))


def _last(section: Optional[Section]) -> str:
    if section is None:
        return "no output"
    lines = [line.strip() for line in section.out.splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit {section.rc}")[:160]


def compare(site: Site, hosts: Mapping[str, HostOutput], ctx: Context = Context()) -> list[Row]:
    """Every check, in the order printed: nodes, cluster, ELMA365 settings, kubeconfig, HAProxy."""
    c = _Compare(site, hosts, ctx)
    c.reachability()
    c.microk8s_running()
    c.ready()
    c.versions()
    c.datastore()
    c.elma365()
    c.kubeconfig()
    c.haproxy()
    order = {n.name: i for i, n in enumerate(site.nodes)}
    return sorted(c.rows, key=lambda r: (0, order[r.where]) if r.where in order else
                  (1, 0) if r.where == "cluster" else (2, 0))


# ------------------------------------------------------------------------------------------ report

def exit_code(rows: Sequence[Row]) -> int:
    return 1 if any(r.status == DRIFT for r in rows) else 0


def report(rows: Sequence[Row], seconds: Optional[float] = None) -> str:
    """One table (status, node, check, expected from the config, found), a line per drift with the
    command that repairs it, and a summary that counts the skipped checks apart: not verified."""
    head = ("", "NODE", "CHECK", "EXPECTED (config)", "FOUND")
    cells = [head] + [(r.status, r.where, r.check, r.expected, r.found) for r in rows]
    widths = [min(max(len(c[i]) for c in cells), cap) for i, cap in enumerate((5, 22, 70, 60, 0))]
    lines = []
    for c in cells:
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
    drifts = [r for r in rows if r.status == DRIFT]
    skipped = [r for r in rows if r.status == SKIP]
    if drifts:
        lines += ["", f"{len(drifts)} drift(s); the command that repairs each:"]
        for r in drifts:
            lines.append(f"DRIFT {r.where}: {r.check}: {r.repair.text if r.repair else '(none known)'}")
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    lines += ["", f"{len(rows)} checks{took}: {len(rows) - len(drifts) - len(skipped)} match, {len(drifts)} drift, "
              f"{len(skipped)} skipped (not verified: " + ("; ".join(f"{r.where} {r.check}" for r in skipped) or "none")
              + ")",
              "read-only: nothing was changed on any server. ELMA365 figures (nodes up, HA mode, autoscaling, "
              "Linkerd, external services, replicas) come from `elma365ctl status`, whose output the vendor does not "
              "document."]
    return "\n".join(lines) + "\n"
