"""`make hostkeys STACK=<name>`: collect the SSH host key of every server of a site, show their
fingerprints for the operator to confirm, and pin them in the stack config.

    .venv/bin/python tools/hostkeys.py --stack <name> [--identity ~/.ssh/key] [--yes]

Servers: every node (`nodes[i].hostKey`), the HAProxy host (`haproxy.hostKey`, or each of
`haproxy.hosts[i].hostKey`) and the bastion
(`ssh.bastion.hostKey`). Keys are ed25519 (an ssh-rsa pin is refused by the program: OpenSSH 8.8+
refuses the SHA-1 signatures it implies). With a bastion, the bastion is scanned directly and the
others through it (`ssh <bastion> ssh-keyscan ...`, which needs `--identity`), as the program
reaches them. Nothing is written before the operator answers `y` (or `--yes`); writing is
`pulumi config set --path 'elma365:...hostKey' <key> --stack <name>`, run in the project folder
with the caller's Pulumi environment (backend, passphrase).
"""
from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import yaml

ROOT = Path(__file__).resolve().parent.parent
KEY_TYPE = "ed25519"


@dataclass
class Server:
    role: str          # node, haproxy, bastion
    name: str
    address: str
    port: int
    config_path: str   # the config key its pin goes to, e.g. nodes[0].hostKey
    key: str = ""
    fingerprint: str = ""
    error: str = ""


def servers_of(values: dict[str, Any]) -> list[Server]:
    ssh = values.get("ssh") or {}
    port = int(ssh.get("port") or 22)
    found = [Server("node", n["name"], n["address"], int(n.get("port") or port), f"nodes[{i}].hostKey")
             for i, n in enumerate(values.get("nodes") or [])]
    haproxy = values.get("haproxy")
    if haproxy and haproxy.get("hosts"):
        for i, entry in enumerate(haproxy["hosts"]):
            if not isinstance(entry, dict):
                raise SystemExit(f"error: elma365:haproxy.hosts[{i}] is a plain address ({entry}): `pulumi config "
                                 f"set --path` cannot add a key to it. Write it as {{host: {entry}}} in "
                                 "stacks/Pulumi.<stack>.yaml, then run this again")
            found.append(Server("haproxy", f"haproxy-{i + 1}", entry["host"], int(entry.get("port") or port),
                                f"haproxy.hosts[{i}].hostKey"))
    elif haproxy:
        found.append(Server("haproxy", "haproxy", haproxy["host"], int(haproxy.get("port") or port),
                            "haproxy.hostKey"))
    bastion = ssh.get("bastion")
    if bastion:
        found.insert(0, Server("bastion", "bastion", bastion["host"], int(bastion.get("port") or 22),
                               "ssh.bastion.hostKey"))
    return found


def keyscan_argv(server: Server, bastion: Optional[dict[str, Any]], user: str, identity: Optional[str],
                 bastion_known_hosts: Optional[Path]) -> list[str]:
    scan = ["ssh-keyscan", "-T", "5", "-t", KEY_TYPE, "-p", str(server.port), server.address]
    if not bastion or server.role == "bastion":
        return scan
    jump = ["ssh", "-p", str(int(bastion.get("port") or 22)), "-o", "BatchMode=yes"]
    if identity:
        jump += ["-i", identity, "-o", "IdentitiesOnly=yes"]
    if bastion_known_hosts:  # the bastion's own key, just scanned (and shown) or pinned already
        jump += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={bastion_known_hosts}"]
    return jump + [f"{bastion.get('user') or user}@{bastion['host']}", shlex.join(scan)]


def fingerprint(key_line: str) -> str:
    done = subprocess.run(["ssh-keygen", "-lf", "-"], input=f"host {key_line}\n", capture_output=True, text=True)
    return done.stdout.split()[1] if done.returncode == 0 and done.stdout.split() else "?"


def scan(servers: list[Server], values: dict[str, Any], identity: Optional[str], workdir: Path) -> None:
    ssh = values.get("ssh") or {}
    bastion = ssh.get("bastion")
    known: Optional[Path] = None
    for server in servers:  # the bastion first: the others are scanned through it
        done = subprocess.run(keyscan_argv(server, bastion, ssh.get("user") or "root", identity, known),
                              capture_output=True, text=True, timeout=60)
        lines = [line.split(None, 1)[1] for line in done.stdout.splitlines()
                 if line.strip() and not line.startswith("#") and len(line.split()) >= 3]
        if not lines:
            server.error = (done.stderr.strip().splitlines() or ["no answer"])[-1]
            continue
        server.key = lines[0].strip()
        server.fingerprint = fingerprint(server.key)
        if server.role == "bastion":
            known = workdir / "bastion_known_hosts"
            host = server.address if server.port == 22 else f"[{server.address}]:{server.port}"
            known.write_text(f"{host} {server.key}\n")


def table(servers: list[Server]) -> str:
    rows = [("role", "name", "address", "key", "fingerprint")]
    rows += [(s.role, s.name, f"{s.address}:{s.port}", s.key.split()[0] if s.key else "-",
              s.fingerprint or f"ERROR: {s.error}") for s in servers]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="tools/hostkeys.py", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--stack", required=True, help="the stack name (stacks/Pulumi.<name>.yaml)")
    parser.add_argument("--project", default=str(ROOT), help="the project folder (Pulumi.yaml, stacks/)")
    parser.add_argument("--identity", default=None, help="the SSH key that logs into the bastion")
    parser.add_argument("--yes", action="store_true", help="write without asking (scripts)")
    args = parser.parse_args(argv)
    project = Path(args.project)
    config = yaml.safe_load((project / "stacks" / f"Pulumi.{args.stack}.yaml").read_text())["config"]
    values = {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("elma365:")}
    servers = servers_of(values)
    with tempfile.TemporaryDirectory(prefix="elma365-hostkeys.") as workdir:
        scan(servers, values, args.identity, Path(workdir))
    print(table(servers))
    if any(s.error for s in servers):
        print("error: not every server answered; nothing was written", file=sys.stderr)
        return 1
    if not args.yes:
        answer = input(f"Compare these fingerprints with the servers' own (ssh-keygen -lf /etc/ssh/ssh_host_{KEY_TYPE}_key.pub "
                       f"on each). Pin them in stack {args.stack}? [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("nothing was written")
            return 1
    for server in servers:
        subprocess.run(["pulumi", "config", "set", "--path", f"elma365:{server.config_path}", server.key,
                        "--stack", args.stack], cwd=project, check=True, capture_output=True, text=True)
    print(f"pinned {len(servers)} host keys in stack {args.stack}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
