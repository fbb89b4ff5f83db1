"""A site built by hand on the lab, as a person following the vendor's manual does: NOT the program.

Everything runs over plain `ssh` (the lab's key, port and pinned host keys, as site.json gives them),
entirely outside Pulumi, one command after the other as a person types them: the installer and
`elma365ctl reconfigure` on a terminal (`ssh -tt` driven through a pty, each prompt answered when it
appears), the rest as plain commands. The simulator journals every call like any other, which is how
tests tell what ran. Used to make sites the program has to take over.

    python -m lab.by_hand [--lab DIR] [--nodes N] [--no-ha] [--no-haproxy] [--domain NAME]

(the lab must be up: python -m lab.site up DIR --nodes N)

    from lab import by_hand
    by_hand.install(site, "elma365-1")                    # the manual's step 1
    by_hand.join(site, "elma365-1", "elma365-2")          # step 2, once per node, one at a time
    by_hand.enable_ha(site, "elma365-1", ["elma365-1", "elma365-2", "elma365-3"])   # step 5
    by_hand.haproxy(site, ["elma365-1", "elma365-2", "elma365-3"])                  # step 6
    by_hand.build_cluster(site, ["elma365-1", "elma365-2", "elma365-3"])            # all of it

`site` is a LabSite, its site.json as a dict, or the lab directory; a node is its name, its address
or its site.json entry.
"""
from __future__ import annotations

import argparse
import json
import os
import re
import select
import shlex
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, Iterable, Mapping, Optional, Sequence, Union

HAPROXY_CFG = "/etc/haproxy/haproxy.cfg"
SSH_PORT = 2222
QUESTION_SECONDS = 5.0   # a line left open this long with no known prompt in it: an unknown question

Site = Union[str, os.PathLike, Mapping[str, Any], Any]
Host = Union[str, Mapping[str, Any]]


class ByHandError(RuntimeError):
    """A step of the by-hand build failed; the message has the command's output (tokens hidden)."""


# ------------------------------------------------------------------------------------------------
# the lab's hosts and SSH
# ------------------------------------------------------------------------------------------------

def site_info(site: Site) -> dict[str, Any]:
    """site.json of a LabSite, of a lab directory, or the dict itself."""
    if isinstance(site, Mapping):
        return dict(site)
    if hasattr(site, "info"):
        info = site.info()
    else:
        try:
            info = json.loads((Path(site) / "site.json").read_text())
        except (OSError, ValueError):
            info = None
    if not info:
        raise ByHandError(f"no lab site at {getattr(site, 'dir', site)} (python -m lab.site up first)")
    return info


def host_entry(site: Site, host: Host) -> dict[str, Any]:
    """A node's or the HAProxy host's site.json entry, by name or address."""
    if isinstance(host, Mapping):
        return dict(host)
    info = site_info(site)
    for entry in list(info.get("nodes") or []) + ([info["haproxy"]] if info.get("haproxy") else []):
        if host in (entry["name"], entry["address"]):
            return entry
    raise ByHandError(f"the lab has no host {host!r}")


def ssh_argv(site: Site, host: Host, tty: bool = False) -> list[str]:
    """`ssh` to one lab host with the lab's key and its pinned host keys (<lab>/keys/known_hosts)."""
    info, entry = site_info(site), host_entry(site, host)
    return ["ssh", "-i", info["privateKeyPath"], "-p", str(entry.get("port") or SSH_PORT),
            "-o", "IdentitiesOnly=yes", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=yes",
            "-o", f"UserKnownHostsFile={info['knownHostsPath']}", "-o", "ConnectTimeout=10",
            "-o", "LogLevel=ERROR", "-tt" if tty else "-T", f"{info.get('user') or 'root'}@{entry['address']}"]


def hide_tokens(text: str) -> str:
    """Join strings and tokens out of what an error shows (a token is as good as a password until used)."""
    text = re.sub(r"(:25000/)\S+", r"\1<token>", text)
    return re.sub(r"\b[0-9a-fA-F]{32}\b", "<token>", text)


def run(site: Site, host: Host, command: str, stdin: Optional[str] = None, check: bool = True,
        timeout: float = 300) -> subprocess.CompletedProcess:
    """One command on one host, no terminal (as `ssh host command` runs it)."""
    done = subprocess.run(ssh_argv(site, host) + [command], input=stdin or "", capture_output=True, text=True,
                          timeout=timeout)
    if check and done.returncode != 0:
        raise ByHandError(f"`{hide_tokens(command)}` on {host_entry(site, host)['name']} exited {done.returncode}:\n"
                          f"{hide_tokens(done.stdout + done.stderr).rstrip()}")
    return done


def on_terminal(site: Site, host: Host, command: str, prompts: Mapping[str, str], timeout: float = 300,
                question_seconds: float = QUESTION_SECONDS) -> str:
    """`command` on a terminal (`ssh -tt`, this end a pty), each prompt answered when it appears:
    `prompts` maps a prompt's exact text (the line the tool leaves open) to the answer typed, Enter
    included. Returns the transcript. Fails with the transcript on a prompt it does not know (a line
    left open `question_seconds` with no known prompt), on a non-zero exit, or after `timeout`."""
    name = host_entry(site, host)["name"]
    wanted = {p.rstrip(): a for p, a in prompts.items()}
    master, slave = os.openpty()
    try:
        proc = subprocess.Popen(ssh_argv(site, host, tty=True) + [command], stdin=slave, stdout=slave,
                                stderr=slave, close_fds=True, start_new_session=True)
    finally:
        os.close(slave)
    out, answered_to, last_output = "", 0, time.monotonic()
    deadline = time.monotonic() + timeout
    failure = None
    try:
        while True:
            if time.monotonic() > deadline:
                failure = f"no end after {timeout:.0f} s"
                break
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                try:
                    chunk = os.read(master, 4096)
                except OSError:          # EIO: ssh ended and the pty closed
                    chunk = b""
                if not chunk:
                    break
                out += chunk.decode(errors="replace")
                last_output = time.monotonic()
            # the open line (after the last newline) of what came since the last answer
            line = out[answered_to:].rsplit("\n", 1)[-1].replace("\r", "").rstrip()
            if not line:
                continue
            if line in wanted:
                os.write(master, (wanted[line] + "\r").encode())   # what Enter sends on a terminal
                answered_to = len(out)
            elif time.monotonic() - last_output > question_seconds:
                failure = f"unknown prompt {line!r}"
                break
    finally:
        if failure and proc.poll() is None:
            proc.kill()
        rc = proc.wait()
        os.close(master)
    transcript = out.replace("\r\n", "\n").replace("\r", "\n")
    if failure or rc != 0:
        raise ByHandError(f"`{command}` on {name}: {failure or f'exited {rc}'}; transcript:\n{transcript.rstrip()}")
    return transcript


# ------------------------------------------------------------------------------------------------
# the manual's steps
# ------------------------------------------------------------------------------------------------

def install(site: Site, node: Host, domain: str = "elma365.lab", edition: str = "enterprise", linkerd: bool = True,
            timeout: float = 300) -> str:
    """Step 1 on `node` (the main node): download the installer from the lab's URL and run it on a
    terminal, answering its questions: the domain, no custom connection strings, no autoscaling,
    Linkerd (the manual asks for it without autoscaling). Returns the transcript."""
    url = site_info(site)["installerUrl"]
    command = (f"curl -fsSL -o elma365-installer.sh {shlex.quote(url)} && chmod +x elma365-installer.sh && "
               f"./elma365-installer.sh -e {shlex.quote(edition)}")
    return on_terminal(site, node, command, {
        "Enter the domain name for ELMA365: ": domain,
        "Use custom connection string? [y/N]: ": "n",
        "Enable autoscaling? [y/N]: ": "n",
        "Enable Linkerd? [Y/n]: ": "y" if linkerd else "n",
    }, timeout=timeout)


def tracking(snap_list: str, snap: str = "microk8s") -> str:
    """The channel in the Tracking column of `snap list <snap>`."""
    lines = [line.split() for line in snap_list.splitlines() if line.strip()]
    if not lines or "Tracking" not in lines[0]:
        raise ByHandError(f"unreadable `snap list {snap}`:\n{snap_list}")
    at = lines[0].index("Tracking")
    for cells in lines[1:]:
        if cells and cells[0] == snap and len(cells) > at:
            return cells[at]
    raise ByHandError(f"{snap} is not in `snap list {snap}`:\n{snap_list}")


def join_line(add_node_output: str, main_address: str) -> str:
    """The `microk8s join <main>:25000/<token>/<hash>` line of add-node's output that a node can use:
    the main node's own address (not the unreachable default interface), not `--worker`."""
    for line in add_node_output.splitlines():
        words = line.split()
        if len(words) == 3 and words[:2] == ["microk8s", "join"] and words[2].startswith(f"{main_address}:25000/"):
            return line.strip()
    raise ByHandError(f"add-node printed no join line for {main_address}:\n{hide_tokens(add_node_output)}")


def join(site: Site, main: Host, node: Host, timeout: float = 600) -> None:
    """Step 2 for one node: MicroK8s on it, a fresh one-time join line from the main node, the join."""
    main_entry = host_entry(site, main)
    # The manual assumes MicroK8s on the node to add: the vendor's installer runs on the main node only
    # (and refuses a second node), so a person installs the MicroK8s snap, on the channel the main
    # node tracks (`snap list microk8s` there), as MicroK8s' own guide to adding nodes does.
    channel = tracking(run(site, main, "snap list microk8s").stdout)
    run(site, node, f"snap install microk8s --classic --channel={shlex.quote(channel)}", timeout=timeout)
    # one add-node per node, one node at a time (the manual): the token is single-use
    line = join_line(run(site, main, "elma365ctl add-node").stdout, main_entry["address"])
    run(site, node, line, timeout=timeout)


def enable_ha(site: Site, main: Host, nodes: Sequence[Host], replicas: int = 3, failover: int = 60,
              linkerd: bool = True, timeout: float = 600) -> None:
    """Step 5: `elma365ctl reconfigure` on the main node (on a terminal: no custom connection strings,
    no autoscaling, Linkerd, HA on with `replicas` and `failover` seconds), then `elma365ctl
    update-hamode` on each node of the cluster, one at a time, the main node included (first if
    `nodes` leaves it out), then one `elma365ctl restart` on the main node."""
    on_terminal(site, main, "elma365ctl reconfigure", {
        "Use custom connection string? [y/N]: ": "n",
        "Enable autoscaling? [y/N]: ": "n",
        "Enable Linkerd? [Y/n]: ": "y" if linkerd else "n",
        "Enable high availability mode? [y/N]: ": "y",
        "Number of replicas for system services (minimum 3): ": str(replicas),
        "Time of moving application services from failed nodes, seconds (10-300): ": str(failover),
    }, timeout=timeout)
    names = [host_entry(site, n)["name"] for n in nodes]
    main_name = host_entry(site, main)["name"]
    for name in ([] if main_name in names else [main_name]) + names:
        run(site, name, "elma365ctl update-hamode", timeout=timeout)
    run(site, main, "elma365ctl restart", timeout=timeout)


def haproxy_config(site: Site, nodes: Sequence[Host], bind_port: int = 80) -> str:
    """The manual's example (step 6) for the lab: a whole haproxy.cfg, since the lab's HAProxy host has
    none of its own; the web port of the lab's nodes; without `no option http-use-htx`, which HAProxy
    2.6 rejects."""
    info = site_info(site)
    if not info.get("haproxy"):
        raise ByHandError("the lab has no HAProxy host (python -m lab.site up without --no-haproxy)")
    port = info.get("webPort") or 8080
    servers = "".join(f"    server {e['name']} {e['name']}:{port} check\n" for e in (host_entry(site, n) for n in nodes))
    return ("# written by hand after the ELMA365 manual, step 6 (HAProxy 2.6 rejects its `no option http-use-htx`)\n"
            "global\n    maxconn 4096\n\n"
            "defaults\n    mode http\n    timeout connect 5s\n    timeout client 30s\n    timeout server 30s\n\n"
            "listen elma365_web\n"
            f"    bind {info['haproxy']['address']}:{bind_port}\n"
            "    mode http\n    balance leastconn\n    option forwardfor\n    option httpclose\n"
            "    option httpchk HEAD /\n" + servers)


def haproxy(site: Site, nodes: Sequence[Host], bind_port: int = 80) -> str:
    """Step 6 on the lab's HAProxy host: the config written beside the live one, checked with
    `haproxy -c`, moved in place (the old one kept as .bak), then started or reloaded gracefully with
    the host's `lab-haproxy-reload` (its service "unit"). Returns the config."""
    config = haproxy_config(site, nodes, bind_port)
    cfg = shlex.quote(HAPROXY_CFG)
    run(site, site_info(site)["haproxy"],
        f"mkdir -p /etc/haproxy && cat > {cfg}.new && haproxy -c -q -f {cfg}.new && "
        f"{{ [ ! -f {cfg} ] || cp -p {cfg} {cfg}.bak; }} && mv -f {cfg}.new {cfg} && lab-haproxy-reload",
        stdin=config)
    return config


haproxy_step = haproxy   # for build_cluster, whose flag has the step's name


def build_cluster(site: Site, nodes: Sequence[Host], ha: bool = True, haproxy: bool = True,
                  domain: str = "elma365.lab", replicas: int = 3, failover: int = 60) -> None:
    """The manual from start to end: install on nodes[0], join the rest one at a time, HA on (3+ nodes),
    HAProxy in front of them."""
    if not nodes:
        raise ByHandError("no nodes to build a cluster of")
    if ha and len(nodes) < 3:
        raise ByHandError(f"HA mode needs at least 3 nodes (the manual); got {len(nodes)}")
    main = nodes[0]
    install(site, main, domain=domain)
    for node in nodes[1:]:
        join(site, main, node)
    if ha:
        enable_ha(site, main, nodes, replicas=replicas, failover=failover)
    if haproxy:
        haproxy_step(site, nodes)


def main(argv: Optional[Iterable[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.by_hand", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="/tmp/elma365-lab", help="the lab directory (python -m lab.site up)")
    parser.add_argument("--nodes", type=int, default=None, help="the lab's first N nodes (default: all)")
    parser.add_argument("--no-ha", action="store_true")
    parser.add_argument("--no-haproxy", action="store_true")
    parser.add_argument("--domain", default="elma365.lab")
    args = parser.parse_args(None if argv is None else list(argv))
    info = site_info(args.lab)
    nodes = [n["name"] for n in info["nodes"]][:args.nodes]
    try:
        build_cluster(info, nodes, ha=not args.no_ha, haproxy=not args.no_haproxy, domain=args.domain)
    except ByHandError as e:
        print(f"lab.by_hand: {e}", file=sys.stderr)
        return 1
    print(f"built by hand: {', '.join(nodes)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
