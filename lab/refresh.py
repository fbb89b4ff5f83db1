"""A MicroK8s refresh on the lab, and what it costs the users: NOT the program.

- HAProxy's view of a server, and its state set, through the admin socket of each balancer (over
  ssh, `socat`, or python3 where socat is missing, as `make verify` reads it);
- `under_load`: steps (one per node, or one for a whole run) under the lab's steady load through
  HAProxy, with the failed requests and the time of each: the measurement a rolling refresh of the
  program is to be plugged into;
- a refresh by hand, over plain ssh (lab/by_hand.py), as an operator who follows MicroK8s' guidance
  makes it: node by node, the main node last (`rolling_steps`), or every node at once (`naive_steps`).

    from lab import refresh
    refresh.program_haproxy(site)                       # the program's own config on every balancer
    refresh.set_server_state(site, "elma365-2", "drain")   # every balancer; "ready", "maint"
    refresh.server_states(site, "elma365-2")             # {"haproxy": "DRAIN"}
    rolled = refresh.under_load(refresh.url(site), refresh.rolling_steps(site, nodes, "1.29/stable"))
    rolled.failed, [(s.name, s.seconds, s.failed) for s in rolled.steps]
"""
from __future__ import annotations

import shlex
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Optional, Sequence

from lab import by_hand
from lab.load import Background, Sent

BACKEND = "elma365_web"          # the program's `listen elma365_web` (components/render/haproxy.py)
ADMIN_SOCKET = "/run/haproxy/admin.sock"   # its `stats socket` line, in the balancer's private /run/haproxy
RATE, TIMEOUT = 20, 1.5          # requests/s through HAProxy, each with a 1.5 s timeout (lab/failover.py's)

# One admin-socket command, answered on stdout: socat where it is installed, else python3.
_ADMIN_PY = ("import socket,sys\n"
             "s=socket.socket(socket.AF_UNIX); s.settimeout(5); s.connect(sys.argv[1])\n"
             "s.sendall(sys.argv[2].encode()+b'\\n')\n"
             "sys.stdout.write(s.makefile(errors='replace').read())\n")   # HAProxy closes after its answer


class RefreshError(RuntimeError):
    pass


# ------------------------------------------------------------------------------------------------
# the balancers and their admin socket
# ------------------------------------------------------------------------------------------------

def balancers(site: by_hand.Site) -> list[dict[str, Any]]:
    """The lab's HAProxy hosts: its balancers (a virtual IP), else its one HAProxy host."""
    info = by_hand.site_info(site)
    return list(info.get("balancers") or []) or ([info["haproxy"]] if info.get("haproxy") else [])


def url(site: by_hand.Site) -> str:
    """Where the users' requests go: the virtual IP, else the one HAProxy host (port 80, the lab stack's)."""
    info = by_hand.site_info(site)
    return f"http://{info.get('virtualIp') or info['haproxy']['address']}/"


def program_haproxy(site: by_hand.Site, nodes: Optional[int] = None) -> str:
    """The HAProxy config the program renders for this lab (the lab stack's values, HAProxy 2.6: its
    `stats socket`, health checks, retries), put on every balancer by hand and started or reloaded
    with `lab-haproxy-reload`: a site's balancers as the program leaves them, without a `pulumi up`."""
    from components.render.haproxy import haproxy_config
    from components.site import parse_site
    from lab.runner import DEFAULT_STACK, lab_values
    info = by_hand.site_info(site)
    parsed = parse_site(lab_values(DEFAULT_STACK, info, nodes=nodes), {"ssh"})
    config = haproxy_config(parsed.haproxy, parsed.active, (2, 6))
    cfg = shlex.quote(by_hand.HAPROXY_CFG)
    for balancer in balancers(info):
        by_hand.run(info, balancer, f"mkdir -p /etc/haproxy /var/lib/haproxy && cat > {cfg}.new && "
                                    f"haproxy -c -q -f {cfg}.new && mv -f {cfg}.new {cfg} && lab-haproxy-reload",
                    stdin=config)
    return config


def admin_command(command: str, socket_path: str = ADMIN_SOCKET, tool: str = "") -> str:
    """The shell command that sends `command` to HAProxy's admin socket on its host: with socat
    where it is installed, else python3 (`tool` "socat" or "python3": that one)."""
    sock, cmd = shlex.quote(socket_path), shlex.quote(command)
    socat = f"echo {cmd} | socat -t 5 stdio unix-connect:{sock}"
    python = f"python3 -c {shlex.quote(_ADMIN_PY)} {sock} {cmd}"
    if tool:
        return socat if tool == "socat" else python
    return f"if command -v socat >/dev/null 2>&1; then {socat}; else {python}; fi"


def admin(site: by_hand.Site, balancer: by_hand.Host, command: str, tool: str = "") -> str:
    """`command` on one balancer's admin socket (over ssh); HAProxy's answer. A refused command fails."""
    out = by_hand.run(site, balancer, admin_command(command, tool=tool)).stdout
    if command.startswith("set ") and out.strip():
        raise RefreshError(f"`{command}` on {by_hand.host_entry(site, balancer)['name']}: {out.strip()}")
    return out


def parse_show_stat(text: str) -> dict[tuple[str, str], dict[str, str]]:
    """`show stat` (CSV, header `# pxname,svname,...`): {(proxy, server): {column: value}}."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines or not lines[0].startswith("# "):
        return {}
    header = lines[0][2:].split(",")
    rows = (dict(zip(header, line.split(","))) for line in lines[1:])
    return {(row["pxname"], row["svname"]): row for row in rows}


def server_stats(site: by_hand.Site, server: str, backend: str = BACKEND) -> dict[str, dict[str, str]]:
    """`show stat` of one server on every balancer: {balancer: its row (status, scur, weight, ...)}."""
    out = {}
    for balancer in balancers(site):
        rows = parse_show_stat(admin(site, balancer, "show stat"))
        if (backend, server) not in rows:
            raise RefreshError(f"{balancer['name']}: HAProxy has no server {backend}/{server}")
        out[balancer["name"]] = rows[(backend, server)]
    return out


def server_states(site: by_hand.Site, server: str, backend: str = BACKEND) -> dict[str, str]:
    """HAProxy's status of one server on every balancer: UP, DOWN, DRAIN, MAINT, `UP 1/2` (rising)..."""
    return {name: row["status"] for name, row in server_stats(site, server, backend).items()}


def set_server_state(site: by_hand.Site, server: str, state: str, backend: str = BACKEND) -> None:
    """`set server <backend>/<server> state ready|drain|maint` on every balancer."""
    for balancer in balancers(site):
        admin(site, balancer, f"set server {backend}/{server} state {state}")


def wait_until(what: str, check: Callable[[], bool], timeout: float, every: float = 0.2) -> float:
    """Seconds until `check()` holds; RefreshError naming `what` after `timeout`."""
    start = time.monotonic()
    while not check():
        if time.monotonic() - start > timeout:
            raise RefreshError(f"{what}: not after {timeout:.0f} s")
        time.sleep(every)
    return time.monotonic() - start


def wait_idle(site: by_hand.Site, server: str, timeout: float = 30.0) -> float:
    """Until no balancer has a request in progress on `server` (`scur` 0): a drained server's last
    requests done."""
    return wait_until(f"{server}'s requests in progress", lambda: all(
        row.get("scur", "0") in ("", "0") for row in server_stats(site, server).values()), timeout)


def wait_in_service(site: by_hand.Site, server: str, timeout: float = 60.0) -> float:
    """Until every balancer has `server` UP (its `rise` health checks passed)."""
    return wait_until(f"{server} UP on every balancer",
                      lambda: set(server_states(site, server).values()) == {"UP"}, timeout)


# ------------------------------------------------------------------------------------------------
# MicroK8s as an operator reads it
# ------------------------------------------------------------------------------------------------

def voters(status_out: str) -> list[str]:
    """The `datastore master nodes` of `microk8s status`."""
    line = next((x for x in status_out.splitlines() if "datastore master nodes:" in x), "")
    return [a for a in line.split("nodes:", 1)[-1].split() if a != "none"]


def ready_and_voters(site: by_hand.Site, via: str, node: str, want_voters: int) -> bool:
    """Whether `kubectl get node` on `via` says `node` is Ready (cordoned or not) and `microk8s
    status` there lists `want_voters` datastore voters (0: not asked)."""
    got = by_hand.run(site, via, f"microk8s kubectl get node {shlex.quote(node)} --no-headers", check=False)
    cells = got.stdout.split()
    if got.returncode != 0 or len(cells) < 2 or cells[1].split(",")[0] != "Ready":
        return False
    if want_voters:
        status = by_hand.run(site, via, "microk8s status", check=False)
        return status.returncode == 0 and len(voters(status.stdout)) >= want_voters
    return True


# ------------------------------------------------------------------------------------------------
# a refresh by hand
# ------------------------------------------------------------------------------------------------

def refresh_node(site: by_hand.Site, node: str, channel: str, via: str, cluster: int,
                 timeout: float = 120.0) -> None:
    """One node, as MicroK8s' guidance has it: HAProxy sends it no new requests (drain, every
    balancer) and its last ones end; `kubectl drain`; `snap refresh microk8s --channel=<channel>`;
    Ready again and, with 3+ nodes, 3 voters; `kubectl uncordon`; HAProxy sends it requests again,
    and it is UP on every balancer before the next node. `via` is another node to run kubectl on."""
    set_server_state(site, node, "drain")
    wait_idle(site, node)
    by_hand.run(site, via, f"microk8s kubectl drain {shlex.quote(node)} --ignore-daemonsets "
                           f"--delete-emptydir-data --timeout={int(timeout)}s")
    by_hand.run(site, node, f"snap refresh microk8s --channel={shlex.quote(channel)}", timeout=timeout)
    wait_until(f"{node} Ready with the datastore's voters", lambda: ready_and_voters(
        site, via, node, 3 if cluster >= 3 else 0), timeout)
    by_hand.run(site, via, f"microk8s kubectl uncordon {shlex.quote(node)}")
    set_server_state(site, node, "ready")
    wait_in_service(site, node, timeout)


def rolling_steps(site: by_hand.Site, nodes: Sequence[str], channel: str) -> list[tuple[str, Callable[[], None]]]:
    """One step per node, the main node (nodes[0]) last, each run on another node's kubectl."""
    main, others = nodes[0], list(nodes[1:])

    def step(node: str) -> Callable[[], None]:
        via = main if node != main else (others[0] if others else main)
        return lambda: refresh_node(site, node, channel, via, len(nodes))
    return [(node, step(node)) for node in others + [main]]


def naive_steps(site: by_hand.Site, nodes: Sequence[str], channel: str,
                timeout: float = 120.0) -> list[tuple[str, Callable[[], None]]]:
    """One step: `snap refresh` on every node at once (as snapd's own timers may do it), then until
    every node is in service again."""
    def everything() -> None:
        errors: list[BaseException] = []

        def one(node: str) -> None:
            try:
                by_hand.run(site, node, f"snap refresh microk8s --channel={shlex.quote(channel)}", timeout=timeout)
            except BaseException as error:  # noqa: B902 - re-raised in the step's thread below
                errors.append(error)
        threads = [threading.Thread(target=one, args=(n,)) for n in nodes]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if errors:
            raise errors[0]
        for node in nodes:
            wait_in_service(site, node, timeout)
    return [("all nodes at once", everything)]


# ------------------------------------------------------------------------------------------------
# the measurement
# ------------------------------------------------------------------------------------------------

@dataclass
class Step:
    name: str
    start: float                 # s into the load
    end: float
    sent: list[Sent] = field(default_factory=list)    # the requests sent while it ran

    @property
    def seconds(self) -> float:
        return self.end - self.start

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)


@dataclass
class Rolled:
    sent: list[Sent]             # every request of the load
    steps: list[Step]
    error: Optional[BaseException] = None   # the step that failed stopped the rest

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)

    def summary(self) -> str:
        per = ", ".join(f"{s.name} {s.seconds:.1f} s/{s.failed} failed" for s in self.steps)
        return f"{self.failed} of {len(self.sent)} requests failed ({per})"


def under_load(target: str, steps: Sequence[tuple[str, Callable[[], Any]]], rate: int = RATE,
               timeout: float = TIMEOUT, lead: float = 1.0, tail: float = 1.0) -> Rolled:
    """`steps` one after the other (in this thread) under a steady load of `rate` requests/s through
    `target`, from `lead` s before the first until `tail` s after the last; each step's time and the
    requests sent while it ran. A step that raises ends the run there (`error`; the load still
    ends after `tail`)."""
    done: list[Step] = []
    error = None
    with Background(target, rate, timeout) as load:
        time.sleep(lead)
        for name, action in steps:
            step = Step(name, load.now(), 0.0)
            try:
                action()
            except Exception as exc:  # noqa: B902 - kept in the result, the caller decides
                error = exc
            step.end = load.now()
            done.append(step)
            if error:
                break
        time.sleep(tail)
    for step in done:
        step.sent = [s for s in load.sent if step.start <= s.at < step.end]
    return Rolled(load.sent, done, error)
