"""Runs one command over real SSH with a pulumi-command connection, using the OpenSSH client.

A stand-in for pulumi-command's SSH session, for the lab: same connection fields (host, port,
user, privateKey, hostKey, proxy, dialErrorLimit, perDialTimeout), the command string handed to
the remote login shell as is, stdin piped in."""
from __future__ import annotations

import hashlib
import os
import re
import shlex
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

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
    combined: str = ""  # stdout and stderr interleaved as they came


def _write_once(path: str, text: str) -> None:
    """Commands run in parallel and share these files: a reader must never see a half-written one."""
    try:
        with open(path) as handle:
            if handle.read() == text:
                return
    except FileNotFoundError:
        pass
    tmp = f"{path}.{os.getpid()}.{threading.get_ident()}"
    with open(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "w") as handle:
        handle.write(text)
    os.replace(tmp, path)


def _ssh_options(conn: Mapping[str, Any], workdir: str, tag: str) -> list[str]:
    key = conn["privateKey"]
    key_file = os.path.join(workdir, f"key-{tag}-{hashlib.sha256(key.encode()).hexdigest()[:12]}")
    _write_once(key_file, key if key.endswith("\n") else key + "\n")
    host, port = conn["host"], int(conn.get("port") or 22)
    # curve25519, as pulumi-command's Go SSH client negotiates (OpenSSH would pick the far costlier sntrup761)
    options = ["-i", key_file, "-p", str(port), "-o", "BatchMode=yes", "-o", "IdentitiesOnly=yes",
               "-o", "KexAlgorithms=curve25519-sha256,curve25519-sha256@libssh.org",
               "-o", "LogLevel=ERROR", "-o", f"ConnectTimeout={int(conn.get('perDialTimeout') or 15)}"]
    if conn.get("hostKey"):
        known = os.path.join(workdir, f"known-{tag}-{host}-{port}")
        _write_once(known, f"[{host}]:{port} {conn['hostKey']}\n" if port != 22 else f"{host} {conn['hostKey']}\n")
        options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
    else:
        # pulumi-command ignores the host key when none is given
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return options


def run(conn: Mapping[str, Any], command: str, stdin: Optional[str] = None, timeout: float = 3600,
        mux_dir: Optional[str] = None, on_line: Optional[Callable[[str, str], None]] = None) -> Result:
    """One command on one host. With `mux_dir`, connections to a host are shared (OpenSSH
    ControlMaster), so a step costs a new session, not a new handshake; close_all() ends them.
    `on_line(stream, line)` sees each line of output as it comes ("stdout" or "stderr")."""
    if conn.get("privateKeyPassword"):
        raise DialError("the lab runner cannot use a private key with a passphrase")
    attempts = int(conn.get("dialErrorLimit") or 10)
    if attempts < 0:
        attempts = 10
    with tempfile.TemporaryDirectory(prefix="elma365-lab-ssh.") as own_dir:
        workdir = mux_dir or own_dir
        argv = ["ssh", *_ssh_options(conn, workdir, "target")]
        if mux_dir:
            argv += ["-o", "ControlMaster=auto", "-o", f"ControlPath={mux_dir}/cm-%C", "-o", "ControlPersist=yes"]
        proxy = conn.get("proxy")
        if proxy:
            jump = ["ssh", *_ssh_options(proxy, workdir, "proxy"), "-W", "%h:%p",
                    f"{proxy.get('user') or 'root'}@{proxy['host']}"]
            argv += ["-o", "ProxyCommand=" + " ".join(shlex.quote(a) for a in jump)]
        argv += [f"{conn.get('user') or 'root'}@{conn['host']}", command]
        last = ""
        for attempt in range(attempts):
            result = _once(argv, stdin, timeout, on_line)
            if result.exit_code == 255 and DIAL_FAILURE.search(result.stderr):
                last = result.stderr.strip().splitlines()[-1] if result.stderr.strip() else "connection failed"
                time.sleep(0.3)
                continue
            return result
        raise DialError(f"cannot connect to {conn['host']}:{int(conn.get('port') or 22)} over SSH "
                        f"after {attempts} attempts: {last}")


def _once(argv: list[str], stdin: Optional[str], timeout: float,
          on_line: Optional[Callable[[str, str], None]]) -> Result:
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    out: list[str] = []
    err: list[str] = []
    both: list[str] = []
    lock = threading.Lock()

    def pump(stream, own: list[str], name: str) -> None:
        for raw in iter(stream.readline, b""):
            text = raw.decode(errors="replace")
            with lock:
                own.append(text)
                both.append(text)
            if on_line is not None:
                on_line(name, text)

    readers = [threading.Thread(target=pump, args=(proc.stdout, out, "stdout"), daemon=True),
               threading.Thread(target=pump, args=(proc.stderr, err, "stderr"), daemon=True)]
    for reader in readers:
        reader.start()
    try:
        proc.stdin.write((stdin or "").encode())
        proc.stdin.close()
    except BrokenPipeError:
        pass
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    for reader in readers:
        reader.join()
    return Result(proc.returncode, "".join(out), "".join(err), time.monotonic() - started, "".join(both))


def close_all(mux_dir: str) -> None:
    """End every shared connection opened under `mux_dir` (leave nothing running)."""
    for name in os.listdir(mux_dir):
        if name.startswith("cm-"):
            subprocess.run(["ssh", "-o", f"ControlPath={os.path.join(mux_dir, name)}", "-O", "exit", "lab"],
                           capture_output=True, timeout=10)
