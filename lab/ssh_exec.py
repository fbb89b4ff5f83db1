"""Runs one command over real SSH with a pulumi-command connection, using the OpenSSH client.

A stand-in for pulumi-command's SSH client, for the lab: same connection fields (host, port, user,
privateKey, hostKey, proxy, dialErrorLimit, perDialTimeout), the command string handed to the
remote login shell as is, stdin piped in.

As in the real provider (provider/pkg/provider/remote/connection.go), dialling is apart from the
session: `dial()` opens the connection (an OpenSSH master, `-M -N -f`, which returns once the host
has been authenticated) and retries any failure with pulumi's retry.Until backoff, 1 + limit
attempts in all; the session then runs over it (`-S`). OpenSSH's reasons for a failed dial are
worded as Go's net and x/crypto/ssh words them (GO_DIAL_ERRORS); "connection refused" is the one
tests/test_provider_conformance.py checks against the real provider."""
from __future__ import annotations

import hashlib
import os
import re
import selectors
import shlex
import shutil
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Optional

DIAL_DELAY, DIAL_BACKOFF, DIAL_MAX_DELAY = 0.1, 1.5, 5.0  # sdk/go/common/util/retry defaults
# OpenSSH's last line when it could not connect -> the error Go's ssh.Dial returns ({endpoint}: host:port)
GO_DIAL_ERRORS = (
    (re.compile(r"Connection refused"), "dial tcp {endpoint}: connect: connection refused"),
    (re.compile(r"Connection timed out|Operation timed out"), "dial tcp {endpoint}: i/o timeout"),
    (re.compile(r"No route to host"), "dial tcp {endpoint}: connect: no route to host"),
    (re.compile(r"Network is unreachable"), "dial tcp {endpoint}: connect: network is unreachable"),
    (re.compile(r"Host key verification failed|REMOTE HOST IDENTIFICATION HAS CHANGED"),
     "ssh: handshake failed: ssh: host key mismatch"),
    (re.compile(r"Permission denied"),
     "ssh: handshake failed: ssh: unable to authenticate, attempted methods [none publickey], "
     "no supported methods remain"),
    (re.compile(r"kex_exchange_identification|Connection closed by|Connection reset"), "ssh: handshake failed: EOF"),
)
# what the OpenSSH client says when the connection goes away under a running command
LOST = re.compile(r"mux_client|Control socket|Connection to \S+ closed|client_loop|Broken pipe|Connection reset")
# ssh.ExitMissingError, what the Go client's session.Run returns then
EXIT_MISSING = "wait: remote command exited without exit status or exit signal"


class DialError(RuntimeError):
    pass


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str
    seconds: float
    combined: str = ""  # stdout and stderr interleaved as they came
    exit_text: str = ""  # the Go client's error for a command that did not exit 0


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
               "-o", "LogLevel=ERROR"]
    timeout = int(conn.get("perDialTimeout") if conn.get("perDialTimeout") is not None else 15)
    if timeout > 0:  # 0: no maximum, as for the real provider
        options += ["-o", f"ConnectTimeout={timeout}"]
    if conn.get("hostKey"):
        known = os.path.join(workdir, f"known-{tag}-{host}-{port}")
        _write_once(known, f"[{host}]:{port} {conn['hostKey']}\n" if port != 22 else f"{host} {conn['hostKey']}\n")
        options += ["-o", "StrictHostKeyChecking=yes", "-o", f"UserKnownHostsFile={known}"]
    else:
        # pulumi-command ignores the host key when none is given
        options += ["-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null"]
    return options


def endpoint(conn: Mapping[str, Any]) -> str:
    """net.JoinHostPort(host, port)."""
    host, port = str(conn["host"]), int(conn.get("port") or 22)
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def go_dial_error(conn: Mapping[str, Any], stderr: str) -> str:
    lines = [line.strip() for line in stderr.strip().splitlines() if line.strip()]
    last = lines[-1] if lines else "connection failed"
    for pattern, text in GO_DIAL_ERRORS:
        if pattern.search(last):
            return text.format(endpoint=endpoint(conn))
    return f"ssh: handshake failed: {last}"


def failed_hop(conn: Mapping[str, Any], stderr: str) -> tuple[str, str, Mapping[str, Any]]:
    """Through a bastion, which of the real provider's three dials failed, as (its retry message's
    name, Go's error, the connection whose dialErrorLimit counts): "Dial proxy" (to the bastion),
    "Dial from proxy" (the bastion to the target) or "Dial" (SSH to the target)."""
    proxy = conn.get("proxy")
    if not proxy:
        return "Dial", go_dial_error(conn, stderr), conn
    to_proxy = re.search(rf"^.*connect to host {re.escape(str(proxy['host']))} port.*$", stderr, re.M)
    if to_proxy:
        return "Dial proxy", go_dial_error(proxy, to_proxy.group(0)), proxy
    rejected = re.search(r"open failed: connect failed: (.*)", stderr)  # the bastion's ssh -W, VERBOSE
    if rejected:
        return "Dial from proxy", f"ssh: rejected: connect failed ({rejected.group(1).strip()})", conn
    return "Dial", go_dial_error(conn, stderr), conn


class Session:
    """One dialled connection (an OpenSSH master); `run` opens a session on it."""

    def __init__(self, target: list[str], control: str, workdir: Optional[str], shared: bool):
        self.target = target      # ssh options and user@host
        self.control = control    # the master's socket
        self.workdir = workdir    # removed on close (None: shared, see close_all)
        self.shared = shared

    def run(self, command: str, stdin: Optional[str] = None, timeout: float = 3600,
            on_output: Optional[Callable[[str, bytes], None]] = None) -> Result:
        argv = ["ssh", "-S", self.control, "-o", "ControlMaster=no", *self.target, command]
        result = _once(argv, stdin, timeout, on_output)
        if result.exit_code == 255 and LOST.search(result.stderr.strip().splitlines()[-1] if result.stderr.strip()
                                                   else ""):
            result.exit_text = EXIT_MISSING
        elif result.exit_code != 0:
            result.exit_text = f"Process exited with status {result.exit_code}"
        return result

    def close(self) -> None:
        if self.shared:
            return
        subprocess.run(["ssh", "-S", self.control, "-O", "exit", *self.target[-1:]], capture_output=True, timeout=30)
        if self.workdir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def dial(conn: Mapping[str, Any], on_retry: Optional[Callable[[str], None]] = None,
         mux_dir: Optional[str] = None) -> Session:
    """Connect as pulumi-command's Connection.Dial does: up to 1 + dialErrorLimit attempts (-1: no
    limit), each failure but the last reported with on_retry("Dial i/N failed: retrying"), the
    last raised as DialError("after N failed attempts: <error>"); through a bastion its errors
    begin with "proxy: " and its messages name the hop (failed_hop; one count for all three hops,
    where the real provider counts each of its three dials apart). With `mux_dir`, one connection
    per host is kept open for all commands (ELMA365_LAB_SSH_MUX=1; close_all() ends them)."""
    if conn.get("privateKeyPassword"):
        raise DialError("the lab runner cannot use a private key with a passphrase")
    workdir = mux_dir or tempfile.mkdtemp(prefix="elma365-lab-ssh.")
    target = _ssh_options(conn, workdir, "target")
    proxy = conn.get("proxy")
    if proxy:
        # VERBOSE (read only when the dial fails): why the bastion could not open the way to the target
        jump = ["ssh", "-o", "LogLevel=VERBOSE", *_ssh_options(proxy, workdir, "proxy"), "-W", "%h:%p",
                f"{proxy.get('user') or 'root'}@{proxy['host']}"]
        target += ["-o", "ProxyCommand=" + " ".join(shlex.quote(a) for a in jump)]
    target.append(f"{conn.get('user') or 'root'}@{conn['host']}")
    control = os.path.join(workdir, "cm-" + hashlib.sha256(" ".join(target).encode()).hexdigest()[:16])
    if mux_dir:  # the first command to a host starts its master (ControlPersist), the others use it
        master = ["ssh", "-S", control, "-o", "ControlMaster=auto", "-o", "ControlPersist=yes", *target, "true"]
    else:  # -f: into the background once the host is authenticated; the session then runs over it
        master = ["ssh", "-M", "-N", "-f", "-S", control, *target]
    delay, tries, prefix = DIAL_DELAY, 0, "proxy: " if proxy else ""
    while True:
        # the master keeps the descriptors it was given: its errors go to a file, not to a pipe we would wait on
        with tempfile.TemporaryFile(dir=workdir) as errors:
            code = subprocess.run(master, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=errors).returncode
            errors.seek(0)
            stderr = errors.read().decode(errors="replace")
        if code == 0:
            return Session(target, control, None if mux_dir else workdir, shared=bool(mux_dir))
        hop, error, counted = failed_hop(conn, stderr)
        limit = int(counted.get("dialErrorLimit") if counted.get("dialErrorLimit") is not None else 10)
        if limit > -1 and tries + 1 > limit:
            if not mux_dir:
                shutil.rmtree(workdir, ignore_errors=True)
            raise DialError(f"{prefix}after {tries} failed attempts: {error}")
        if on_retry is not None:
            on_retry(f"{hop} {tries + 1}/{limit if limit != -1 else 'inf'} failed: retrying")
        time.sleep(min(delay, DIAL_MAX_DELAY))
        delay = min(delay, DIAL_MAX_DELAY) * DIAL_BACKOFF
        tries += 1


def run(conn: Mapping[str, Any], command: str, stdin: Optional[str] = None, timeout: float = 3600,
        mux_dir: Optional[str] = None, on_output: Optional[Callable[[str, bytes], None]] = None) -> Result:
    """One command on one host: dial, run, close. `on_output(stream, chunk)` sees the output as it
    comes ("stdout" or "stderr"), both streams in the order they arrived."""
    session = dial(conn, mux_dir=mux_dir)
    try:
        return session.run(command, stdin, timeout, on_output)
    finally:
        session.close()


def _once(argv: list[str], stdin: Optional[str], timeout: float,
          on_output: Optional[Callable[[str, bytes], None]]) -> Result:
    started = time.monotonic()
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def feed() -> None:
        try:
            proc.stdin.write((stdin or "").encode())
            proc.stdin.close()
        except BrokenPipeError:
            pass

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    # one reader for both streams keeps them in the order the client wrote them
    chunks: dict[str, list[bytes]] = {"stdout": [], "stderr": []}
    both: list[bytes] = []
    selector = selectors.DefaultSelector()
    selector.register(proc.stdout, selectors.EVENT_READ, "stdout")
    selector.register(proc.stderr, selectors.EVENT_READ, "stderr")
    deadline = started + timeout
    while selector.get_map():
        ready = selector.select(timeout=max(0.0, deadline - time.monotonic()))
        if not ready:
            proc.kill()
            break
        for key, _ in sorted(ready, key=lambda item: item[0].data != "stdout"):
            chunk = os.read(key.fileobj.fileno(), 65536)
            if not chunk:
                selector.unregister(key.fileobj)
                continue
            chunks[key.data].append(chunk)
            both.append(chunk)
            if on_output is not None:
                on_output(key.data, chunk)
    selector.close()
    proc.wait()
    writer.join(timeout=5)

    def text(parts: list[bytes]) -> str:
        return b"".join(parts).decode(errors="replace")

    return Result(proc.returncode, text(chunks["stdout"]), text(chunks["stderr"]), time.monotonic() - started,
                  text(both))


def close_all(mux_dir: str) -> None:
    """End every shared connection opened under `mux_dir` (leave nothing running)."""
    for name in os.listdir(mux_dir):
        if name.startswith("cm-"):
            subprocess.run(["ssh", "-o", f"ControlPath={os.path.join(mux_dir, name)}", "-O", "exit", "lab"],
                           capture_output=True, timeout=10)
