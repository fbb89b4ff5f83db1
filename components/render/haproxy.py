"""The load balancer: its config (the manual's listen section, made loadable) and how it is applied."""
from __future__ import annotations

from ..site import Haproxy, Node, Site
from .shell import ensure_package, q, remote


def haproxy_config(haproxy: Haproxy, nodes: tuple[Node, ...]) -> str:
    """The manual's example, minus `no option http-use-htx` (HTX is mandatory since HAProxy 2.1)."""
    servers = "\n".join(
        f"    server {n.name} {_host(n.cluster_address)}:{haproxy.backend_port} check" for n in nodes)
    return f"""# managed by elma365-cluster: changes here are overwritten on the next `pulumi up`
global
    maxconn 4096

defaults
    mode http
    timeout connect 5s
    timeout client 1h
    timeout server 1h

listen elma365_web
    bind {haproxy.bind}
    mode http
    balance leastconn
    option forwardfor
    option httpclose
    option httpchk HEAD /
{servers}
"""


def _host(address: str) -> str:
    return f"[{address}]" if ":" in address else address


def apply_command(site: Site, haproxy: Haproxy) -> str:
    """Validate the new config beside the live one; only a valid config replaces it, atomically.

    If the reload fails the previous config is put back, so the live file is never a broken one."""
    cfg = q(haproxy.config_path)
    body = f"""
{ensure_package("haproxy", "haproxy")}
cfg={cfg}
mkdir -p "$(dirname "$cfg")"
new=$(mktemp "$cfg.new.XXXXXX")
trap 'rm -f "$new"' EXIT
cat > "$new"
chmod 644 "$new"
if [ -f "$cfg" ] && cmp -s "$new" "$cfg"; then
  echo "HAProxy config unchanged"
  exit 0
fi
if ! out=$(haproxy -c -f "$new" 2>&1); then
  echo "ERROR: HAProxy rejected the new config; the live one is unchanged:" >&2
  echo "$out" >&2
  exit 1
fi
had_previous=0
if [ -f "$cfg" ]; then cp -p "$cfg" "$cfg.bak"; had_previous=1; fi
mv -f "$new" "$cfg"
if ! bash -c {q(haproxy.reload_command)}; then
  echo "ERROR: reload failed: "{q(haproxy.reload_command)}"; the previous config is restored" >&2
  if [ "$had_previous" = 1 ]; then mv -f "$cfg.bak" "$cfg"; else rm -f "$cfg"; fi
  exit 1
fi
echo "HAProxy config applied and reloaded"
"""
    return remote(body, sudo=site.ssh.needs_sudo)
