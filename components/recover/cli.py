"""`make recover STACK=<name> SURVIVORS=<node,...> [FROM=<node>] [ALLOW_OLDER=1] [YES=1]`.

    python -m components.recover --pulumi-stack <name> --survivors elma365-1[,...] [--yes]
    python -m components.recover --stack stacks/Pulumi.<name>.yaml --key <file> --survivors ...

Reads the stack config as `make verify` does (components/verify/cli.py: no Pulumi engine, no state
lock), reads every reachable node's datastore (raftlog.py, read-only), prints the plan (plan.py),
asks for the site's name (--yes for scripts), then runs each step over SSH with the program's
connection settings, one node at a time, and prints the config change for the lost nodes.
Exit 0: recovered; 1: a step failed (run it again: it converges); 2: refused, nothing changed.
"""
from __future__ import annotations

import argparse
import copy
import json
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Optional

import yaml

from ..facts.node import BACKEND, DQLITE, datastore_address
from ..render.shell import STATE_DIR, remote
from ..render.template import Text, fill
from ..site import Node, Site, SiteConfigError, parse_site
from ..verify.cli import VerifyError, add_source_arguments, key_file_of, values_of
from ..verify.collect import Ssh
from .plan import Plan, RecoverError, config_change, make_plan

RAFTLOG = Path(__file__).resolve().parent / "raftlog.py"
RECOVER_DIR = f"{STATE_DIR}/recover"     # root-only: the backend folders as they were before the recovery
READY_TIMEOUT_SECONDS = 300


class StepFailed(RuntimeError):
    pass


class Nodes:
    """SSH to the site's nodes with the program's connection settings (as `make verify`)."""

    def __init__(self, site: Site, key_file: str, workdir: str):
        self.site, self.ssh = site, Ssh(site, key_file, workdir)

    def argv(self, node: Node) -> list[str]:
        return self.ssh.argv(node.name, node.address, node.port or self.site.ssh.port, self.site.ssh.user,
                             node.host_key)

    def run(self, node: Node, body: str, stdin: bytes = b"", timeout: float = 600) -> subprocess.CompletedProcess:
        return subprocess.run([*self.argv(node), remote(body, sudo=self.site.ssh.needs_sudo)], input=stdin, capture_output=True,
                              timeout=timeout)

    def act(self, node: Node, body: str, stdin: bytes = b"", out=sys.stdout) -> None:
        done = self.run(node, body, stdin)
        out.write(done.stdout.decode(errors="replace"))
        if done.returncode != 0:
            raise StepFailed(f"on {node.name}: {done.stderr.decode(errors='replace').strip() or f'exit {done.returncode}'}")


def read_nodes(nodes: Nodes, active: list[Node]) -> dict[str, Optional[dict]]:
    """Every active node's datastore as its files say (None: unreachable or unreadable)."""
    read: dict[str, Optional[dict]] = {}
    body = fill("recover-read.sh", backend=BACKEND)
    for node in active:
        try:
            done = nodes.run(node, body, RAFTLOG.read_bytes(), timeout=120)
        except subprocess.TimeoutExpired:
            read[node.name] = None
            continue
        line = next((x for x in done.stdout.decode(errors="replace").splitlines() if x.startswith("RAFTLOG ")), None)
        read[node.name] = json.loads(line[len("RAFTLOG "):]) if done.returncode == 0 and line else None
    return read


def execute(plan: Plan, by_name: dict[str, Node], nodes: Nodes, out=sys.stdout) -> None:
    """The plan's steps, in order; each is safe to run again."""
    kube_dir = BACKEND.rsplit("/", 1)[0]
    for name in plan.survivors + plan.stop_only:
        nodes.act(by_name[name], fill("recover-stop.sh", node_text=Text(name)), out=out)
    for name in plan.survivors:
        nodes.act(by_name[name], fill("recover-backup.sh", backup_dir=RECOVER_DIR, kube_dir=kube_dir,
                                       node_text=Text(name)), out=out)
    source = by_name[plan.source.node]
    nodes.act(source, fill("recover-reconfigure.sh", backend=BACKEND, dqlite=DQLITE,
                            address=datastore_address(source), node_text=Text(source.name)),
               plan.cluster_yaml().encode(), out=out)
    others = [n for n in plan.survivors if n != source.name]
    if others:
        sent = nodes.run(source, fill("recover-send.sh", backend=BACKEND))
        if sent.returncode != 0:
            raise StepFailed(f"on {source.name}: {sent.stderr.decode(errors='replace').strip()}")
        for name in others:
            nodes.act(by_name[name], fill("recover-receive.sh", backend=BACKEND, node_text=Text(name),
                                           source_text=Text(source.name)), sent.stdout, out=out)
    for name in plan.survivors:
        nodes.act(by_name[name], fill("recover-start.sh", node_text=Text(name)), out=out)
    nodes.act(by_name[plan.remove_on], fill("recover-wait.sh", timeout=READY_TIMEOUT_SECONDS, lost=list(plan.lost),
                                             node_text=Text(plan.remove_on)), out=out)


def confirmed(site_name: str, yes: bool, ask=input, out=sys.stdout) -> bool:
    if yes:
        return True
    out.write(f"This rewrites the datastore of site {site_name}. Type the site's name to go on: ")
    out.flush()
    try:
        return ask("").strip() == site_name
    except EOFError:
        return False


def recover(values: dict, secret: set[str], key_file: Optional[str], site_name: str, survivors: list[str],
            source: Optional[str], allow_older: bool, yes: bool, out=sys.stdout, ask=input) -> int:
    try:
        site = parse_site(values, secret)
    except SiteConfigError as exc:
        raise RecoverError(str(exc)) from None
    active = list(site.active)
    by_name = {n.name: n for n in active}
    with key_file_of(site, key_file) as key, tempfile.TemporaryDirectory(prefix="elma365-recover.") as workdir:
        nodes = Nodes(site, key, workdir)
        read = read_nodes(nodes, active)
        plan = make_plan(site_name, [n.name for n in active], survivors, read, site.main.name, source, allow_older)
        out.write(plan.text())
        if not confirmed(site_name, yes, ask, out):
            out.write("Not confirmed: nothing was changed.\n")
            return 2
        try:
            execute(plan, by_name, nodes, out)
        except (StepFailed, subprocess.TimeoutExpired) as exc:
            out.write(f"make recover: a step failed {exc}\nRun make recover again with the same SURVIVORS: "
                      "every step is safe to repeat (the backups of the first run are kept).\n")
            return 1
    out.write(f"The datastore of site {site_name} answers again with {', '.join(plan.survivors)}.\n")
    out.write(config_change([n.name for n in active], plan.lost))
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.recover", description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    parser.add_argument("--site", help="the site's name to confirm with (default: the stack's name)")
    parser.add_argument("--survivors", required=True, help="the nodes whose datastore is kept, comma-separated")
    parser.add_argument("--from", dest="source", help="the survivor whose raft log the others get (default: the newest)")
    parser.add_argument("--allow-older", action="store_true", help="recover from a datastore that is not the newest")
    parser.add_argument("--yes", action="store_true", help="do not ask (scripts)")
    args = parser.parse_args(argv)
    survivors = [s.strip() for s in args.survivors.split(",") if s.strip()]
    try:
        values, secret, _, stack = values_of(parser, args)
        name = args.site or stack or "site"
        return recover(copy.deepcopy(values), secret, str(args.key) if args.key else None, name, survivors,
                       args.source, args.allow_older, args.yes)
    except (RecoverError, VerifyError, OSError, ValueError, yaml.YAMLError) as exc:
        print(f"make recover: {exc}", file=sys.stderr)
        return 2
