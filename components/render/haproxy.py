"""The load balancer: its config (the manual's listen section, version-aware) and how it is applied.

Pure functions. `haproxy_config` renders for the HAProxy version the host reports (`haproxy -v`,
read by `version_command`), emitting only directives that version accepts:

- 1.8, 2.1:  `option httpchk HEAD /`
- 1.9, 2.0:  the same plus the manual's `no option http-use-htx` (the only versions that have it)
- 2.2+, 3.x: `option httpchk` + `http-check send meth HEAD uri /` (the manual's form is legacy there)
"""
from __future__ import annotations

import re

from ..record import RecordedHaproxy
from ..site import Haproxy, Node
from .shell import ensure_package, q, remote
from .template import Raw, Text, fill

OLDEST = (1, 8)
VERSION = re.compile(r"HA-?Proxy version (\d+)\.(\d+)", re.IGNORECASE)
# In the stdin bundle, the TLS certificate (if any) follows the config after this line.
CERT_SEPARATOR = "#--- elma365-cluster: TLS certificate (PEM) follows; not part of the config ---"
MANAGED = "# managed by elma365-cluster"
RUN_AS = "haproxy"                         # the user and group the distributions' packages create
CHROOT = "/var/lib/haproxy"
ADMIN_SOCKET = "/run/haproxy/admin.sock"
BACKEND = "elma365_web"   # the `listen` section whose servers are the nodes, by their names
# One command on HAProxy's admin socket (argv: the socket, the command), its answer on stdout: what
# `make verify` and the rolling refresh use where socat is missing. HAProxy closes after answering.
ADMIN_PY = ("import socket,sys\n"
            "s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1]); s.sendall(sys.argv[2].encode()+b'\\n')\n"
            "d=b''\n"
            "while True:\n"
            "    b=s.recv(65536)\n"
            "    if not b: break\n"
            "    d+=b\n"
            "sys.stdout.write(d.decode(errors='replace'))\n")
BEFORE = ".before-elma365-cluster"      # beside the config: the host's own config, as it was
DISABLED = ".disabled-by-elma365-cluster"


class UnsupportedHaproxy(ValueError):
    pass


def parse_version(text: str) -> tuple[int, int]:
    """(major, minor) from `haproxy -v` output: `HAProxy version 2.6.12-1 ...` / `HA-Proxy version 1.8.19 ...`."""
    match = VERSION.search(text or "")
    if not match:
        raise UnsupportedHaproxy(f"cannot tell the HAProxy version from `haproxy -v`: {text.strip()[:200]!r}")
    version = (int(match.group(1)), int(match.group(2)))
    if version < OLDEST:
        raise UnsupportedHaproxy(f"HAProxy {version[0]}.{version[1]} is older than the oldest supported, "
                                 f"{OLDEST[0]}.{OLDEST[1]}: upgrade it on the load balancer host")
    return version


def has_http_use_htx(version: tuple[int, int]) -> bool:
    """`option http-use-htx` exists only in 1.9 and 2.0 (HTX is the only mode from 2.1 on)."""
    return (1, 9) <= version <= (2, 0)


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def server_lines(haproxy: Haproxy, nodes: tuple[Node, ...]) -> list[str]:
    return [f"    server {n.name} {_host(n.cluster_address)}:{haproxy.backend_port} check" for n in nodes]


def _health_check(haproxy: Haproxy, version: tuple[int, int]) -> list[str]:
    path = haproxy.health_check.path
    if version >= (2, 2):
        return ["    option httpchk", f"    http-check send meth HEAD uri {path}"]
    return [f"    option httpchk HEAD {path}"]


def haproxy_config(haproxy: Haproxy, nodes: tuple[Node, ...], version: tuple[int, int] = (2, 6)) -> str:
    """The manual's `listen elma365_web` with what it leaves out: timeouts for long-lived connections,
    retries with redispatch, fast health checks, optional stats page and TLS termination."""
    t, hc, tls = haproxy.timeouts, haproxy.health_check, haproxy.tls
    defaults = ["defaults", "    mode http", "    log global", "    option httplog", "    option dontlognull"]
    if has_http_use_htx(version):
        defaults.append("    no option http-use-htx")
    defaults += [
        f"    timeout connect {t.connect}",
        f"    timeout client {t.client}",
        f"    timeout server {t.server}",
        f"    timeout tunnel {t.tunnel}",
        f"    timeout client-fin {t.client_fin}",
        f"    timeout http-request {t.http_request}",
        f"    timeout http-keep-alive {t.http_keep_alive}",
        f"    timeout queue {t.queue}",
        f"    timeout check {t.check}",
        f"    retries {haproxy.retries}",
    ]
    if haproxy.redispatch:
        # redispatch on every retry (not only the last): a refused connection goes to another node at once
        defaults.append("    option redispatch 1")

    web = [f"listen {BACKEND}", f"    bind {haproxy.bind}"]
    if tls:
        alpn = " alpn h2,http/1.1" if version >= (2, 1) else ""
        web.append(f"    bind {tls.bind} ssl crt {tls.certificate_path}{alpn}")
    web += ["    mode http", "    balance leastconn", "    option forwardfor"]
    if tls:
        web += ["    http-request set-header X-Forwarded-Proto https if { ssl_fc }",
                "    http-request set-header X-Forwarded-Proto http unless { ssl_fc }"]
        if tls.redirect_http:
            web.append("    http-request redirect scheme https code 301 unless { ssl_fc }")
    if haproxy.retries and version >= (2, 1):
        # a node that dies mid-connection (reset, nothing answered): retry GET/HEAD elsewhere;
        # never replay other methods (HTX-only, hence not with 1.9/2.0's legacy mode)
        web += ["    retry-on conn-failure empty-response",
                "    http-request disable-l7-retry unless METH_GET"]
    web += _health_check(haproxy, version)
    web.append(f"    default-server inter {hc.inter} fall {hc.fall} rise {hc.rise}")
    web += server_lines(haproxy, nodes)

    sections = [
        f"{MANAGED}: do not edit; `make verify` reports edits, `pulumi up --replace` of haproxy-config undoes them\n"
        f"# rendered for HAProxy {version[0]}.{version[1]} (as `haproxy -v` reported it)",
        *([] if haproxy.shared else ["\n".join(["global", "    maxconn 4096",
                   # not root, confined, logging to the system log, an admin socket only root can use
                   f"    user {RUN_AS}", f"    group {RUN_AS}", f"    chroot {CHROOT}", f"    log {haproxy.log} local0",
                   f"    stats socket {ADMIN_SOCKET} mode 600 level admin", "    stats timeout 30s"])]),
        "\n".join(defaults),
        "\n".join(web),
    ]
    if haproxy.stats:
        s = haproxy.stats
        sections.append("\n".join([
            "listen stats", f"    bind {s.bind}", "    mode http", "    stats enable", f"    stats uri {s.uri}",
            "    stats refresh 10s", f"    stats auth {s.user}:{s.password}"]))
    return "\n\n".join(sections) + "\n"


def stdin_bundle(haproxy: Haproxy, nodes: tuple[Node, ...], version_text: str) -> str:
    """What the apply command reads on stdin: the config and, with TLS, the certificate PEM after it.

    It is the only way the stats password and the certificate's key reach the host (a secret stdin)."""
    bundle = haproxy_config(haproxy, nodes, parse_version(version_text))
    if haproxy.tls:
        pem = str(haproxy.tls.certificate)
        bundle += CERT_SEPARATOR + "\n" + pem + ("" if pem.endswith("\n") else "\n")
    return bundle


def version_command(*, sudo: bool) -> str:
    """Install HAProxy with the host's package manager if missing; print `haproxy -v`'s first line."""
    body = fill("haproxy-version.sh", ensure_haproxy=Raw(ensure_package("haproxy", "haproxy")))
    return remote(body, sudo=sudo)


def keep_hosts_own(section: str) -> str:
    """Before the program's first config replaces `$cfg`, the host's own is kept once (taking
    `section` out of the site config restores it)."""
    return fill("keep-own.sh", section=Text(section), before=Text(BEFORE), managed=MANAGED)


DROP_IN = "/etc/systemd/system/haproxy.service.d/elma365-cluster.conf"


def _wire_include(haproxy: Haproxy) -> str:
    """The distributions' units start `haproxy -f $CONFIG`: a drop-in adds the program's file to it."""
    wanted = f'[Service]\nEnvironment="CONFIG={haproxy.config_path} -f {haproxy.include_path}"\n'
    return fill("haproxy-wire-include.sh", drop_in=DROP_IN, wanted=wanted)


def apply_command(haproxy: Haproxy, *, sudo: bool) -> str:
    """Validate the new config beside the live one; only a valid config replaces it, atomically.

    The config (and, with TLS, the certificate) arrive on stdin and are written root-only (0600).
    If the reload fails the previous files are put back, so the live config is never a broken one."""
    # shared: HAProxy checks and runs the host's config with the program's file beside it
    base = f"-f {q(haproxy.config_path)} " if haproxy.shared else ""
    body = fill("haproxy-apply.sh", ensure_haproxy=Raw(ensure_package("haproxy", "haproxy")),
                config_path=haproxy.target_path, crt=haproxy.tls.certificate_path if haproxy.tls else "",
                separator=CERT_SEPARATOR, base=Raw(base), admin_socket=ADMIN_SOCKET, chroot=CHROOT,
                own_or_include=Raw(keep_hosts_own("haproxy") if not haproxy.shared else _wire_include(haproxy)),
                reload_command=haproxy.reload_command)
    return remote(body, sudo=sudo)


def removal_command(old: RecordedHaproxy, *, sudo: bool) -> str:
    """On the HAProxy host the site config no longer names: this program's config comes off. The
    host's own config from before the first apply is validated and put back, and HAProxy reloaded;
    if there was none, the program's config is left as a clearly named disabled file. Ours is only
    touched while it is the live one (a re-run, or another owner since, finds nothing to do)."""
    if old.shared:
        return _remove_include(old, sudo=sudo)
    body = fill("haproxy-removal.sh", config_path=old.config_path, managed=MANAGED, before=Text(BEFORE),
                disabled=Text(DISABLED), reload_command=old.reload_command)
    return remote(body, sudo=sudo)


def _remove_include(old: RecordedHaproxy, *, sudo: bool) -> str:
    """Shared host: the program's own file and its service wiring go; the host's config is untouched."""
    body = fill("haproxy-remove-include.sh", include_path=old.include_path, managed=MANAGED,
                disabled=Text(DISABLED), drop_in=DROP_IN, reload_command=old.reload_command)
    return remote(body, sudo=sudo)
