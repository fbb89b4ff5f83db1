"""The preflight check script: one per node, run before anything is installed.

It prints one machine-readable line per check, always, whatever the outcome:

    PREFLIGHT <node> <check> ok|warn|fail <detail>

and, when any check failed, repeats the failed lines on stderr, ends with a one-line summary
("preflight failed on <node>: <check> (<detail>); ...") and exits 1. Every check runs; none stops
the others. The script depends only on the node's own entry, the main node's cluster address and
the `elma365:preflight` thresholds, so its text (and the step) changes only when those do.

Checks (names as printed): os, arch, cpu, memory, disk, hostname, hostname-resolves, clock,
port-<p> for each MicroK8s port on the main node (joining nodes only), sudo.
"""
from __future__ import annotations

import re
from typing import Any, Iterator, Optional

from ..site import Node, Preflight, Site
from .shell import INSTALLED_MARKER, JOINED_MARKER, q, remote

MICROK8S_PORTS = (25000, 16443, 10250, 19001)
LINE = re.compile(r"^PREFLIGHT (?P<node>\S+) (?P<check>\S+) (?P<status>ok|warn|fail) ?(?P<detail>.*)$")


def node_facts(site: Site, node: Node) -> dict[str, Any]:
    """What a node's checks look at, besides the thresholds: the re-run trigger's node part."""
    return {"name": node.name, "main": node == site.main, "mainClusterAddress": site.main.cluster_address,
            "sudo": site.ssh.needs_sudo}


def _gib_to_kib(gib: float) -> int:
    return int(round(gib * 1024 * 1024))


def check_script(node_name: str, *, is_main: bool, main_cluster_address: str, sudo: bool,
                 preflight: Preflight) -> str:
    """The bash body (without the strict-mode wrapper): every check, then the verdict."""
    p = preflight
    supported = " ".join(q(entry) for entry in p.supported_os)
    # MemTotal is the RAM less what the firmware and kernel keep: allow 5 % below the minimum.
    min_mem_kib = int(_gib_to_kib(p.min_memory_gib) * 0.95)
    ports = " ".join(str(port) for port in MICROK8S_PORTS)
    script = f"""
node={q(node_name)}
failed=""
report() {{ # check status detail...
  local check=$1 status=$2; shift 2
  local line="PREFLIGHT $node $check $status $*"
  echo "$line"
  if [ "$status" = fail ]; then
    echo "$line" >&2
    failed="${{failed:+$failed; }}$check ($*)"
  fi
}}

# os: ID and VERSION_ID of /etc/os-release against the supported list
os_id=""; os_version=""
if [ -r /etc/os-release ]; then
  os_id=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "${{ID:-}}" ) || os_id=""
  os_version=$( . /etc/os-release >/dev/null 2>&1; printf '%s' "${{VERSION_ID:-}}" ) || os_version=""
fi
os_ok=""
for entry in {supported}; do
  want_id=${{entry%%:*}}; want_version=""
  case $entry in *:*) want_version=${{entry#*:}} ;; esac
  [ "$os_id" = "$want_id" ] || continue
  if [ -z "$want_version" ] || [ "$os_version" = "$want_version" ]; then os_ok=1; break; fi
  case $os_version in "$want_version".*) os_ok=1; break ;; esac
done
if [ -z "$os_id" ]; then
  report os fail "cannot read ID from /etc/os-release"
elif [ -n "$os_ok" ]; then
  report os ok "$os_id:$os_version"
else
  report os fail "$os_id:$os_version is not in preflight.supportedOs ({", ".join(p.supported_os)})"
fi

# arch
arch=$(uname -m 2>/dev/null) || arch=unknown
if [ "$arch" = x86_64 ]; then report arch ok "$arch"; else report arch fail "$arch (x86_64 is required)"; fi

# cpu
cores=$(nproc 2>/dev/null) || cores=0
if [ "$cores" -ge {p.min_cpu_cores} ]; then report cpu ok "$cores cores"
else report cpu fail "$cores cores, at least {p.min_cpu_cores} required (preflight.minCpuCores)"; fi

# memory
mem_kib=$(awk '/^MemTotal:/ {{print $2; exit}}' /proc/meminfo 2>/dev/null) || mem_kib=0
mem_kib=${{mem_kib:-0}}
mem_mib=$((mem_kib / 1024))
if [ "$mem_kib" -ge {min_mem_kib} ]; then report memory ok "$mem_mib MiB"
else report memory fail "$mem_mib MiB, at least {p.min_memory_gib:g} GiB required (preflight.minMemoryGiB)"; fi

# disk: free space where the data goes (the nearest existing directory of the path)
dir={q(p.disk_path)}
while [ ! -d "$dir" ] && [ "$dir" != / ]; do dir=$(dirname "$dir"); done
free_kib=$(df -Pk "$dir" 2>/dev/null | awk 'NR == 2 {{print $4}}') || free_kib=""
if [ -z "$free_kib" ]; then
  report disk fail "cannot read the free space of $dir"
elif [ "$free_kib" -ge {_gib_to_kib(p.min_free_disk_gib)} ]; then
  report disk ok "$((free_kib / 1048576)) GiB free on $dir"
else
  report disk fail "$((free_kib / 1048576)) GiB free on $dir, at least {p.min_free_disk_gib:g} GiB required (preflight.minFreeDiskGiB)"
fi

# hostname: Kubernetes names the node after it, and the program finds the node by its name in
# nodes[]; those names are unique, so equal hostnames are unique across the site too.
host=$(hostname 2>/dev/null) || host=""
host_lc=$(printf '%s' "$host" | tr 'A-Z' 'a-z')
if [ "$host_lc" = "$node" ]; then report hostname ok "$host"
else report hostname fail "the hostname is '$host', the site config names this node '$node' (they must be equal: Kubernetes names the node after its hostname)"; fi
if [ -n "$host" ] && resolved=$(getent hosts "$host" 2>/dev/null | awk '{{print $1; exit}}') && [ -n "$resolved" ]; then
  report hostname-resolves ok "$host -> $resolved"
else
  report hostname-resolves fail "'$host' does not resolve on this node (add it to /etc/hosts or DNS)"
fi

# clock: the offset chrony or systemd-timesyncd reports; "cannot tell" is a warning, not a failure
to_ms() {{ # 1.5ms, -20us, +0.002s, 3min -> absolute milliseconds (integer)
  printf '%s\\n' "$1" | awk '{{ v = $1; sub(/^[+-]/, "", v); n = v + 0; u = v; sub(/^[0-9.]+/, "", u)
    if (u == "us") n = n / 1000; else if (u == "s" || u == "") n = n * 1000; else if (u == "min") n = n * 60000
    else if (u == "ns") n = n / 1000000
    printf "%d", n }}'
}}
max_offset={p.max_clock_offset_ms}
if command -v chronyc >/dev/null 2>&1 && tracking=$(timeout 2 chronyc -n tracking 2>/dev/null); then
  seconds=$(printf '%s\\n' "$tracking" | awk -F': *' '/^System time/ {{split($2, a, " "); print a[1]; exit}}')
  leap=$(printf '%s\\n' "$tracking" | awk -F': *' '/^Leap status/ {{print $2; exit}}')
  if [ "$leap" = "Not synchronised" ] || [ -z "$seconds" ]; then
    report clock fail "chrony is not synchronised"
  else
    ms=$(to_ms "${{seconds}}s")
    if [ "$ms" -le "$max_offset" ]; then report clock ok "chrony offset ${{ms}} ms"
    else report clock fail "chrony offset ${{ms}} ms, at most $max_offset ms allowed (preflight.maxClockOffsetMs)"; fi
  fi
elif command -v timedatectl >/dev/null 2>&1 && synced=$(timeout 2 timedatectl show -p NTPSynchronized --value 2>/dev/null) && [ -n "$synced" ]; then
  if [ "$synced" != yes ]; then
    report clock fail "systemd-timesyncd: the clock is not NTP-synchronized"
  else
    offset=$(timeout 2 timedatectl timesync-status 2>/dev/null | awk -F': *' '$1 ~ /Offset$/ {{print $2; exit}}') || offset=""
    if [ -z "$offset" ]; then report clock ok "NTP-synchronized (no offset reported)"
    else
      ms=$(to_ms "$offset")
      if [ "$ms" -le "$max_offset" ]; then report clock ok "timesyncd offset $offset"
      else report clock fail "timesyncd offset $offset, at most $max_offset ms allowed (preflight.maxClockOffsetMs)"; fi
    fi
  fi
else
  report clock warn "cannot tell: neither chronyc tracking nor timedatectl answered; make sure the clocks are synchronized"
fi

{{ports_section}}
# sudo
{"if sudo -n true >/dev/null 2>&1; then report sudo ok 'sudo -n works'; else report sudo fail 'sudo -n true failed: ssh.sudo is set, so the login user needs sudo without a password'; fi" if sudo else "report sudo ok 'not used (ssh.sudo is off or the user is root)'"}

if [ -n "$failed" ]; then
  echo "preflight failed on $node: $failed" >&2
  exit 1
fi
echo "PREFLIGHT $node all ok"
"""
    port_probes = f"""
# ports: before the install nothing listens on the main node, so "connection refused" means the
# path is open; a timeout means something drops the packets. All ports are probed at once.
probe_dir=$(mktemp -d)
trap 'rm -rf "$probe_dir"' EXIT
for port in {ports}; do
  ( if out=$(timeout {p.port_timeout_seconds} bash -c 'exec 3<>"/dev/tcp/$1/$2"' probe {q(main_cluster_address)} "$port" 2>&1); then
      echo "ok something listens on {main_cluster_address}:$port"
    else
      rc=$?
      if [ "$rc" -eq 124 ]; then echo "fail {main_cluster_address}:$port timed out after {p.port_timeout_seconds}s (filtered?)"
      elif [[ "$out" == *"Connection refused"* ]]; then echo "ok {main_cluster_address}:$port reachable (refused: nothing listens yet)"
      else echo "fail {main_cluster_address}:$port: $(printf '%s' "$out" | tail -n 1 | sed 's/^.*: //')"
      fi
    fi > "$probe_dir/$port" ) &
done
wait
for port in {ports}; do
  read -r status detail < "$probe_dir/$port" || {{ status=fail; detail="no result"; }}
  report "port-$port" "$status" "$detail"
done
"""
    # the main node does not probe itself: the others must reach it
    return script.replace("{ports_section}", "" if is_main else port_probes)


def preflight_command(site: Site, node: Node) -> str:
    """Runs as the login user (no sudo prefix: the sudo check tests sudo itself). A node already in
    service (installed, or joined) is not checked again: its ports are in use and its disk and memory
    are the cluster's now, so a key rotation or an upgrade of this program must not fail on them."""
    in_service = f"""if [ -f {INSTALLED_MARKER} ] || [ -f {JOINED_MARKER} ]; then
  echo "PREFLIGHT {node.name} in-service ok already part of the cluster; not checked again"
  exit 0
fi
"""
    return remote(in_service + check_script(node.name, is_main=node == site.main,
                                            main_cluster_address=site.main.cluster_address,
                                            sudo=site.ssh.needs_sudo, preflight=site.preflight), sudo=False)


def preflight_update_command(site: Site, node: Node) -> str:
    """A passed check re-runs only when what it checks changes (its triggers: a replace, i.e. its
    create). Any other change (a new key, new script text) reaches a node that passed already."""
    return remote(f'echo "PREFLIGHT {node.name} in-service ok passed before; not checked again"', sudo=False)


def parse_report(text: str) -> Iterator[dict[str, str]]:
    """The PREFLIGHT lines of one or more reports, as dicts (node, check, status, detail)."""
    for line in text.splitlines():
        match = LINE.match(line.strip())
        if match:
            yield match.groupdict()


def failures(text: str) -> list[str]:
    return [f"{r['node']}: {r['check']} ({r['detail']})" for r in parse_report(text) if r["status"] == "fail"]


def summary(text: str) -> Optional[str]:
    failed = failures(text)
    return None if not failed else "preflight failed: " + "; ".join(failed)
