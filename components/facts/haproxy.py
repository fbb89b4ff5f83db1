"""What `make verify` reads on an HAProxy host: the version `haproxy -v` reports (parsed as the
haproxy-version step parses it: components/render/haproxy.parse_version), the live config the
program wrote and its digest, each node's health check as HAProxy makes it (`curl -I`), and
HAProxy's own view of its backends (`show stat` on the admin socket the program's config declares,
or else the stats page). Every command is read-only; the stats password travels on stdin.
"""
from __future__ import annotations

import csv
import difflib
import io
import re
from typing import Optional

from .. import names
from ..render.haproxy import ADMIN_PY, BACKEND, _host, haproxy_config
from ..render.shell import q
from ..site import BalancerHost, Site
from .keepalived import keepalived_sections
from .sections import Read, Section, file_reads

HAPROXY = "@haproxy"            # the HAProxy host's key among the hosts (a node may be called "haproxy")
SOCKET_LINE = re.compile(r"^\s*stats socket (\S+)", re.M)
STATS_AUTH = re.compile(r"^(\s*stats auth [^:\s]+):\S+$", re.M)


def balancers(site: Site) -> list[tuple[str, int, BalancerHost]]:
    """(key among the hosts, index, balancer) for each HAProxy host: `@haproxy` for the one
    balancer, `@haproxy:<host>` for each of several."""
    h = site.haproxy
    if h is None:
        return []
    many = len(h.balancers) > 1
    return [(f"{HAPROXY}:{b.host}" if many else HAPROXY, i, b) for i, b in enumerate(h.balancers)]


def program_file(haproxy) -> str:
    """The file the program writes: the whole config, or on a shared host its own file beside the host's."""
    return getattr(haproxy, "target_path", haproxy.config_path)


def rendered_config(site: Site, version: tuple[int, int]) -> str:
    """The config the program writes for the HAProxy version the host reports."""
    assert site.haproxy is not None
    return haproxy_config(site.haproxy, site.active, version)


def admin_socket(config: str) -> Optional[str]:
    """The admin socket an HAProxy config declares (`stats socket <path> ...` in `global`), if any."""
    m = SOCKET_LINE.search(config)
    return m.group(1) if m else None


def rendered_socket(site: Site) -> Optional[str]:
    """The admin socket of the config the program renders for this site (the line does not depend
    on the HAProxy version the config is rendered for)."""
    return admin_socket(rendered_config(site, (2, 6)))


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


def show_stat_command(socket_path: str) -> str:
    return (f"sock={q(socket_path)}; "
            """if [ ! -S "$sock" ]; then echo "no admin socket at $sock"; exit 3; fi; """
            """if command -v socat >/dev/null 2>&1; then echo 'show stat' | $T socat -t 5 stdio "unix-connect:$sock"; """
            f"""elif command -v python3 >/dev/null 2>&1; then $T python3 -c {q(ADMIN_PY)} "$sock" 'show stat'; """
            """else echo 'neither socat nor python3 is installed on the HAProxy host'; exit 127; fi""")


def haproxy_sections(site: Site, with_stats: bool) -> list[Read]:
    """What is read on an HAProxy host (with its keepalived's, when the site has a virtual IP)."""
    h = site.haproxy
    assert h is not None
    sections = [(names.READ_HAPROXY_VERSION, "haproxy -v", False),
                *file_reads(names.READ_CONFIG, names.READ_CONFIG_SHA256, program_file(h))]
    for node in site.active:
        url = f"http://{_host(node.cluster_address)}:{h.backend_port}{h.health_check.path}"
        sections.append((names.read_health(node.name),
                         f"command -v curl >/dev/null || exit 127; $T curl -sS -o /dev/null -I --max-time 3 "
                         f"-w 'http_code=%{{http_code}}\\n' {q(url)}", False))
    socket_path = rendered_socket(site)
    if socket_path:
        sections.append((names.READ_BACKEND_STATE, show_stat_command(socket_path), False))
    elif with_stats and h.stats:
        sections.append((names.READ_STATS, f"command -v curl >/dev/null || exit 127; $T curl -sS --fail --max-time 5 -K - "
                                  f"{q(stats_url(h.stats.bind, h.stats.uri))}", True))
    return sections + keepalived_sections(site)


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


def parse_stats_csv(text: str, proxy: str = BACKEND) -> dict[str, str]:
    """HAProxy's stats CSV: {server: status} of `proxy`'s servers (UP, DOWN, MAINT, ...)."""
    lines = text.splitlines()
    if not lines or not lines[0].startswith("# "):
        return {}
    reader = csv.DictReader(io.StringIO("\n".join([lines[0][2:]] + lines[1:])))
    return {row["svname"]: row.get("status", "") for row in reader
            if row.get("pxname") == proxy and row.get("svname") not in ("FRONTEND", "BACKEND")}


def mask_secrets(config: str) -> str:
    """An HAProxy config as it may be shown or compared without its stats password."""
    return STATS_AUTH.sub(r"\1:<secret>", config)


def config_difference(expected: str, live: str) -> str:
    """What differs between a rendered and a live config, in a few words (never the stats password)."""
    exp, got = mask_secrets(expected).splitlines(), mask_secrets(live).splitlines()
    diff = [line for line in difflib.unified_diff(exp, got, lineterm="", n=0) if not line.startswith(("+++", "---"))]
    counts = f"+{sum(1 for d in diff if d[:1] == '+')}/-{sum(1 for d in diff if d[:1] == '-')} lines"
    for i in range(max(len(exp), len(got))):
        a = exp[i] if i < len(exp) else "<none>"
        b = got[i] if i < len(got) else "<none>"
        if a != b:
            return f"differs ({counts}); line {i + 1} is {b.strip()!r}, applied {a.strip()!r}"
    return "differs (whitespace at the end)"
