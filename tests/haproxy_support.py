"""The manual's HAProxy example (Step 6), verbatim, and the same made loadable for a given site."""
from __future__ import annotations

MANUAL_EXAMPLE = """listen elma365_web
    bind haproxy-server.your_domain:80
    mode http
    balance leastconn
    no option http-use-htx
    option forwardfor
    option httpclose
    option httpchk HEAD /
    server elma365-1 elma365-1.your_domain:80 check
    server elma365-2 elma365-2.your_domain:80 check
    server elma365-3 elma365-3.your_domain:80 check
"""

REJECTED_LINE = "    no option http-use-htx\n"


def manual_config(bind: str, servers: list[tuple[str, str]], port: int) -> str:
    """The manual's example for this site: its bind and servers put in, and without the one line
    HAProxy 2.1+ rejects. Nothing else is added (no defaults, no timeouts: exactly the manual)."""
    lines = MANUAL_EXAMPLE.replace(REJECTED_LINE, "").splitlines()
    head = [line.replace("haproxy-server.your_domain:80", bind) for line in lines if "    server " not in line]
    return "\n".join(["# the manual's example (Step 6), minus `no option http-use-htx`", *head,
                      *(f"    server {name} {address}:{port} check" for name, address in servers)]) + "\n"
