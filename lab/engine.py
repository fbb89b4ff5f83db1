"""A stand-in for the Pulumi engine, for the lab only: NOT part of the program.

No Pulumi CLI or provider plugin can be had on this machine, so the lab runs the unchanged
__main__.py under Pulumi's mock runtime, and this engine gives each `command:remote:Command`
registration pulumi-command's semantics, executing it for real over SSH:

- a new resource runs `create`;
- an unchanged one runs nothing and hands back its stored outputs;
- changed inputs run `update`, or `create` when there is no `update`;
- changed `triggers` (or `--replace`) replace it: a new `create`, then the old one's `delete`;
- a resource gone from the program runs its `delete`, dependents before their dependencies;
- a failed command fails the run and stores nothing for that resource (a failed update keeps
  the old state); after a failure no new step starts, steps already running finish and are kept,
  and deletions are not carried out, as the engine does without --continue-on-error.

State lives in one JSON file between runs; every secret input or output in it is encrypted
with a per-state key (Fernet), never stored plain.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from cryptography.fernet import Fernet

from lab import ssh_exec

COMMAND = "command:remote:Command"
CIPHERTEXT = "ciphertext"


class StepFailed(RuntimeError):
    pass


class StepSkipped(RuntimeError):
    pass


class SecretBox:
    def __init__(self, key_path: Path):
        if not key_path.exists():
            key_path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "wb") as handle:
                handle.write(Fernet.generate_key())
        self.fernet = Fernet(key_path.read_bytes())

    def seal(self, value: Any, secret_paths: Iterable[str], path: str = "") -> Any:
        paths = set(secret_paths)
        if path in paths:
            return {CIPHERTEXT: self.fernet.encrypt(json.dumps(value).encode()).decode()}
        if isinstance(value, dict):
            return {k: self.seal(v, paths, f"{path}.{k}" if path else k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.seal(v, paths, f"{path}[{i}]") for i, v in enumerate(value)]
        return value

    def open(self, value: Any) -> Any:
        if isinstance(value, dict):
            if set(value) == {CIPHERTEXT}:
                return json.loads(self.fernet.decrypt(value[CIPHERTEXT].encode()))
            return {k: self.open(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self.open(v) for v in value]
        return value


@dataclass
class Stored:
    urn: str
    type: str
    name: str
    parent: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    depends_on: list[str]
    secret_paths: list[str]


@dataclass
class Step:
    urn: str
    name: str
    node: str
    op: str  # create | update | replace | delete
    ok: bool
    started: float
    ended: float
    message: str = ""


@dataclass
class RunReport:
    steps: list[Step] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    started: float = 0.0
    ended: float = 0.0

    @property
    def seconds(self) -> float:
        return self.ended - self.started

    @property
    def ok(self) -> bool:
        return not self.failures


class Engine:
    def __init__(self, state_path: Path, *, replace: Iterable[str] = (), hosts: dict[str, str] | None = None,
                 log: Callable[[str], None] = print, multiplex: bool = True, dry_run: bool = False):
        self.state_path = Path(state_path)
        self.box = SecretBox(self.state_path.with_suffix(".key"))
        self.old = self._load()
        self.new: dict[str, Stored] = {}
        self.replace = set(replace)
        self.hosts = hosts or {}
        self.log = log
        self.lock = threading.Lock()
        self.idle = threading.Condition(self.lock)
        self.running = 0  # commands under way: the run ends only when they have ended too
        self.failed = False
        self.pending_deletes: list[Stored] = []
        self.report = RunReport(started=time.time())
        self.dry_run = dry_run  # `pulumi preview`: say what would run, run nothing, store nothing
        # one SSH connection per host for the whole run (an engine detail, not the program's)
        self.mux_dir = tempfile.mkdtemp(prefix="elma365-lab-mux.") if multiplex else None

    # ------------------------------------------------------------------ state file
    def _load(self) -> dict[str, Stored]:
        if not self.state_path.exists():
            return {}
        data = json.loads(self.state_path.read_text())
        return {r["urn"]: Stored(**{**r, "inputs": self.box.open(r["inputs"]), "outputs": self.box.open(r["outputs"])})
                for r in data["resources"]}

    def _save(self, resources: dict[str, Stored]) -> None:
        rows = []
        for r in resources.values():
            row = asdict(r)
            row["inputs"] = self.box.seal(r.inputs, r.secret_paths)
            row["outputs"] = self.box.seal(r.outputs, r.secret_paths)
            rows.append(row)
        tmp = self.state_path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"resources": rows}, indent=1, sort_keys=True))
        tmp.replace(self.state_path)

    # ------------------------------------------------------------------ one registration
    def register(self, urn: str, type_: str, name: str, parent: str, inputs: dict[str, Any],
                 secret_paths: set[str], depends_on: set[str], secret_outputs: Iterable[str]) -> dict[str, Any]:
        # pulumi-command always keeps the connection secret
        secrets = sorted(set(secret_paths) | ({"connection"} if type_ == COMMAND else set()) | set(secret_outputs))
        if type_ != COMMAND:
            with self.lock:
                self.new[urn] = Stored(urn, type_, name, parent, inputs, dict(inputs), sorted(depends_on), secrets)
            return dict(inputs)
        old = self.old.get(urn)
        if old is None:
            op = "create"
        elif urn in self.replace or name in self.replace or old.inputs.get("triggers") != inputs.get("triggers"):
            op = "replace"
        elif old.inputs != inputs:
            op = "update"
        else:
            with self.lock:
                self.new[urn] = Stored(urn, type_, name, parent, inputs, old.outputs, sorted(depends_on), secrets)
            return old.outputs
        if self.dry_run:
            node = self._node(inputs.get("connection") or {})
            self._record(Step(urn, name, node, f"{op}?", True, time.time(), time.time()))
            # outputs not yet known stay unknown, as in a preview
            outputs = {k: v for k, v in inputs.items() if k not in ("stdout", "stderr")}
            with self.lock:
                self.new[urn] = Stored(urn, type_, name, parent, inputs, outputs, sorted(depends_on), secrets)
                if op == "replace" and old is not None:
                    self.pending_deletes.append(old)
            return outputs
        with self.lock:
            if self.failed:
                raise StepSkipped(f"{name}: not started, an earlier step failed")
            self.running += 1
        try:
            return self._carry_out(urn, type_, name, parent, inputs, old, op, depends_on, secrets)
        finally:
            with self.lock:
                self.running -= 1
                self.idle.notify_all()

    def _carry_out(self, urn: str, type_: str, name: str, parent: str, inputs: dict[str, Any],
                   old: Optional[Stored], op: str, depends_on: set[str], secrets: list[str]) -> dict[str, Any]:
        command = inputs.get("update") if op == "update" and inputs.get("update") else inputs.get("create")
        outputs = dict(inputs)
        if command:
            result = self._execute(urn, name, op, inputs["connection"], command, inputs.get("stdin"),
                                   inputs.get("logging"))
            outputs.update(stdout=result.stdout.rstrip("\n"), stderr=result.stderr.rstrip("\n"))
        with self.lock:
            self.new[urn] = Stored(urn, type_, name, parent, inputs, outputs, sorted(depends_on), secrets)
            if op == "replace" and old is not None:
                self.pending_deletes.append(old)
        return outputs

    def _node(self, conn: dict[str, Any]) -> str:
        return self.hosts.get(conn.get("host", ""), conn.get("host", "?"))

    def _execute(self, urn: str, name: str, op: str, conn: dict[str, Any], command: str,
                 stdin: Optional[str], logging: Optional[str]) -> ssh_exec.Result:
        node = self._node(conn)
        started = time.time()
        try:
            result = ssh_exec.run(conn, command, stdin, mux_dir=self.mux_dir)
        except ssh_exec.DialError as exc:
            self._fail(urn, name, node, op, started, f"{node}: {exc}")
        if result.exit_code != 0:
            shown = result.stderr.strip() if logging in (None, "stderr", "stdoutAndStderr") else "(output not logged)"
            self._fail(urn, name, node, op, started,
                       f"{node}: {name} exited with status {result.exit_code}: {shown}")
        self._record(Step(urn, name, node, op, True, started, time.time()))
        return result

    def _fail(self, urn: str, name: str, node: str, op: str, started: float, message: str) -> None:
        with self.lock:
            self.failed = True
            self.report.failures.append(message)
        self._record(Step(urn, name, node, op, False, started, time.time(), message))
        raise StepFailed(message)

    def _record(self, step: Step) -> None:
        with self.lock:
            self.report.steps.append(step)
        status = "ok" if step.ok else "FAILED"
        self.log(f"[{step.started - self.report.started:7.2f}s] {step.node:<12} {step.name:<28} "
                 f"{step.op:<8} {status:<6} {step.ended - step.started:6.2f}s")

    # ------------------------------------------------------------------ end of the run
    def finish(self, program_ok: bool) -> RunReport:
        # The program gives up at its first failed step; the engine lets the steps already under
        # way run to their end (and keeps what they did) before it closes the run.
        with self.lock:
            self.idle.wait_for(lambda: self.running == 0)
        ok = program_ok and not self.failed
        if self.dry_run:
            gone = [r for u, r in self.old.items() if u not in self.new]
            for stored in self._dependents_first(gone + self.pending_deletes):
                if stored.type == COMMAND and stored.inputs.get("delete"):
                    node = self._node(stored.inputs.get("connection") or {})
                    self._record(Step(stored.urn, stored.name, node, "delete?", True, time.time(), time.time()))
            self.report.ended = time.time()
            return self.report
        if ok:
            gone = [r for urn, r in self.old.items() if urn not in self.new]
            for stored in self._dependents_first(gone + self.pending_deletes):
                try:
                    self._delete(stored)
                except StepFailed:
                    ok = False
                    # the resource stays in the state, so the next run tries its delete again
                    if stored.urn not in self.new:
                        self.new[stored.urn] = stored
                    break
            self._save(self.new)
        else:
            # a failed run keeps what it did not get to: nothing is deleted or forgotten
            merged = dict(self.old)
            merged.update(self.new)
            self._save(merged)
        self.report.ended = time.time()
        if self.mux_dir:
            ssh_exec.close_all(self.mux_dir)
            shutil.rmtree(self.mux_dir, ignore_errors=True)
        return self.report

    def _dependents_first(self, resources: list[Stored]) -> list[Stored]:
        remaining = {id(r): r for r in resources}
        ordered: list[Stored] = []
        while remaining:
            urns = {r.urn for r in remaining.values()}
            # a resource may go once nothing still to be deleted depends on it
            ready = [r for r in remaining.values()
                     if not any(r.urn in o.depends_on or r.urn == o.parent for o in remaining.values() if o is not r
                                and o.urn in urns)]
            if not ready:
                ready = list(remaining.values())
            for r in ready:
                ordered.append(r)
                del remaining[id(r)]
        return ordered

    def _delete(self, stored: Stored) -> None:
        if stored.type != COMMAND or not stored.inputs.get("delete"):
            return
        self._execute(stored.urn, stored.name, "delete", stored.inputs["connection"], stored.inputs["delete"],
                      None, stored.inputs.get("logging"))
