"""`make verify`'s reading of the hosts: every active node and every HAProxy host at once, one
thread and one OpenSSH session each, with the program's connection settings; each session runs
the fact layer's read-only commands for its host (components/facts/) and answers their outputs."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from typing import Optional

from ..facts.backups import BACKUP_HOST, backup_host_read, backup_host_script
from ..facts.haproxy import HAPROXY, balancers, curl_config, haproxy_sections
from ..facts.microk8s import node_script
from ..facts.sections import HostOutput, host_script, parse_sections
from ..site import Site

# the stats password of a stack file read without its secrets (components/verify/cli.py): not sent
UNREAD_STATS_PASSWORD = "not-read-by-verify"


class Ssh:
    """OpenSSH's client with the program's connection settings: user, port, bastion, pinned host
    keys (a host without a pinned key is not checked, as pulumi-command does not check it)."""

    def __init__(self, site: Site, key_file: str, workdir: str, connect_timeout: int = 10):
        self.site, self.key_file, self.workdir, self.connect_timeout = site, key_file, workdir, connect_timeout

    def _options(self, name: str, host: str, port: int, host_key: Optional[str]) -> list[str]:
        options = ["-i", self.key_file, "-p", str(port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
                   "-o", f"ConnectTimeout={self.connect_timeout}", "-o", "LogLevel=ERROR",
                   "-o", "ServerAliveInterval=10", "-o", "ServerAliveCountMax=3"]
        if host_key:
            known = os.path.join(self.workdir, f"known_hosts-{re.sub(r'[^A-Za-z0-9_.-]', '_', name)}")
            with open(known, "w") as handle:
                handle.write((f"[{host}]:{port}" if port != 22 else host) + f" {host_key}\n")
            options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
        else:
            options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
        return options

    def argv(self, name: str, host: str, port: int, user: str, host_key: Optional[str]) -> list[str]:
        argv = ["ssh", *self._options(name, host, port, host_key)]
        b = self.site.ssh.bastion
        if b:
            jump = ["ssh", *self._options("bastion", b.host, b.port, getattr(b, "host_key", None)), "-W", "%h:%p",
                    f"{b.user or self.site.ssh.user}@{b.host}"]
            argv += ["-o", "ProxyCommand=" + " ".join(shlex.quote(a) for a in jump)]
        return argv + [f"{user}@{host}"]

    def run(self, argv: list[str], command: str, stdin: Optional[str], timeout: float) -> HostOutput:
        try:
            done = subprocess.run([*argv, command], input=stdin or "", capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return HostOutput(False, error=f"no answer within {timeout:.0f} s")
        sections = parse_sections(done.stdout)
        if not sections:
            lines = [line for line in done.stderr.splitlines() if line.strip()]
            return HostOutput(False, error=(lines[-1].strip() if lines else f"ssh exited {done.returncode}")[:200])
        return HostOutput(True, sections)


def collect(site: Site, key_file: str, timeout: float = 180) -> dict[str, HostOutput]:
    """Every active node, every HAProxy host and the backup host at once: one thread and one SSH session each."""
    with tempfile.TemporaryDirectory(prefix="elma365-verify.") as workdir:
        ssh = Ssh(site, key_file, workdir)
        jobs: dict[str, tuple[list[str], str, Optional[str]]] = {}
        for node in site.active:
            argv = ssh.argv(node.name, node.address, node.port or site.ssh.port, site.ssh.user, node.host_key)
            jobs[node.name] = (argv, node_script(site, node == site.main), None)
        h = site.haproxy
        for key, _, b in balancers(site):
            with_stats = h.stats is not None and str(h.stats.password) != UNREAD_STATS_PASSWORD
            name = "haproxy" if key == HAPROXY else f"haproxy-{b.host}"   # its known_hosts file's name
            argv = ssh.argv(name, b.host, b.port or site.ssh.port, b.user or site.ssh.user, b.host_key)
            stdin = curl_config(h.stats.user, str(h.stats.password)) if with_stats else None
            jobs[key] = (argv, host_script(site, haproxy_sections(site, with_stats)), stdin)
        backup_host = backup_host_read(site)
        if backup_host:
            b = backup_host
            jobs[BACKUP_HOST] = (ssh.argv(BACKUP_HOST, b.host, b.port, b.user, b.host_key),
                                 backup_host_script(site, b.folder, b.sudo), None)
        with ThreadPoolExecutor(max_workers=len(jobs)) as pool:
            futures = {name: pool.submit(ssh.run, argv, command, stdin, timeout)
                       for name, (argv, command, stdin) in jobs.items()}
            return {name: future.result() for name, future in futures.items()}
