"""Runs one command over real SSH with a pulumi-command connection, using the OpenSSH client.

A stand-in for pulumi-command's SSH session, for the lab: same connection fields (host, port,
user, privateKey, hostKey, proxy, dialErrorLimit, perDialTimeout), the command string handed to
the remote login shell as is, stdin piped in."""
from __future__ import annotations

import os
import re
import shlex
import subprocess
import tempfile
import time
from dataclasses import dataclass
from typing import Any, Mapping, Optional

DIAL_FAILURE = re.compile(r"ssh: connect to host|Connection refused|Connection timed out|No route to host|"
                          r"kex_exchange_identification|Connection closed by .* port|Connection reset")


class DialError(RuntimeError):
    pass


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float


def _ssh_options(conn: Mapping[str, Any], workdir: str, tag: str) -> list[str]:
    key_file = os.path.join(workdir, f"key-{tag}")
    with open(os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        key = conn["privateKey"]
        handle.write(key if key.endswith("\n") else key + "\n")
    host, port = conn["host"], int(conn.get("port") or 22)
    options = ["-i", key_file, "-p", str(port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", "LogLevel=ERROR", "-o", f"ConnectTimeout={int(conn.get('perDialTimeout') or 15)}"]
    if conn.get("hostKey"):
        known = os.path.join(workdir, f"known-{tag}")
        with open(known, "w") as handle:
            handle.write(f"[{host}]:{port} {conn['hostKey']}\n" if port != 22 else f"{host} {conn['hostKey']}\n")
        options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
    else:
        # pulumi-command ignores the host key when none is given
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return options


def run(conn: Mapping[str, Any], command: str, stdin: Optional[str] = None, timeout: float = 3600) -> Result:
    if conn.get("privateKeyPassword"):
        raise DialError("the lab runner cannot use a private key with a passphrase")
    attempts = int(conn.get("dialErrorLimit") or 10)
    if attempts < 0:
        attempts = 10
    with tempfile.TemporaryDirectory(prefix="elma365-lab-ssh.") as workdir:
        argv = ["ssh", *_ssh_options(conn, workdir, "target")]
        proxy = conn.get("proxy")
        if proxy:
            jump = ["ssh", *_ssh_options(proxy, workdir, "proxy"), "-W", "%h:%p",
                    f"{proxy.get('user') or 'root'}@{proxy['host']}"]
            argv += ["-o", "ProxyCommand=" + " ".join(shlex.quote(a) for a in jump)]
        argv += [f"{conn.get('user') or 'root'}@{conn['host']}", command]
        last = ""
        for attempt in range(attempts):
            started = time.monotonic()
            done = subprocess.run(argv, input=stdin if stdin is not None else "", capture_output=True,
                                  text=True, timeout=timeout)
            seconds = time.monotonic() - started
            if done.returncode == 255 and DIAL_FAILURE.search(done.stderr):
                last = done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "connection failed"
                time.sleep(0.3)
                continue
            return Result(done.returncode, done.stdout, done.stderr, seconds)
        raise DialError(f"cannot connect to {conn['host']}:{conn.get('port') or 22} over SSH "
                        f"after {attempts} attempts: {last}")
