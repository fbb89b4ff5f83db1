"""One stack of the unchanged program, driven by the real Pulumi CLI, as an operator would.

The lab's project folder holds links to the repository's Pulumi.yaml, __main__.py, components/
and .venv, and a `stacks/` of its own, so `pulumi stack init`, `pulumi config set --secret --path`,
`pulumi preview`, `pulumi up --yes --skip-preview` and `pulumi destroy --yes` run exactly as the
README's "Running it against a real site" says, without touching the repository's stacks/.

What ran is read from the CLI's own event log (`--event-log`): one Step per resource operation
the engine carried out, in the order the engine finished them.
"""
from __future__ import annotations

import copy
import json
import os
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable, Optional, Sequence

import yaml

from lab import toolchain

ROOT = toolchain.ROOT
PROJECT_FILES = ("Pulumi.yaml", "__main__.py", "components", ".venv")
COMMAND = "command:remote:Command"
# config leaves an operator sets with `pulumi config set --secret --path`
SECRET_PATHS = ("ssh.privateKey", "ssh.privateKeyPassword", "install.externalServices.postgresql",
                "install.externalServices.mongodb", "install.externalServices.s3", "install.externalServices.redis",
                "install.externalServices.rabbitmq", "haproxy.stats.password", "haproxy.tls.certificate")
# the operations that reach the provider ("replace" is only the engine's name for the pair)
PROVIDER_OPS = {"create", "update", "delete", "create-replacement", "delete-replaced"}


@dataclass
class Step:
    name: str
    urn: str
    type: str
    op: str           # the engine's: create, update, delete, create-replacement, delete-replaced
    ok: bool


@dataclass
class Report:
    argv: list[str]
    exit_code: int
    steps: list[Step] = field(default_factory=list)          # command:remote:Command operations
    failures: list[str] = field(default_factory=list)        # error diagnostics, and the CLI's own error
    output: str = ""                                         # what the CLI printed (stdout and stderr)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.exit_code == 0

    def ran(self) -> list[tuple[str, str]]:
        return [(s.name, s.op) for s in self.steps]


def _get(values: dict[str, Any], path: str) -> Any:
    node: Any = values
    for part in path.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


def _set(values: dict[str, Any], path: str, value: Any) -> None:
    parts = path.split(".")
    node = values
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


def _drop(values: dict[str, Any], path: str) -> None:
    parts = path.split(".")
    node = values
    for part in parts[:-1]:
        node = node.get(part) if isinstance(node, dict) else None
        if node is None:
            return
    if isinstance(node, dict):
        node.pop(parts[-1], None)


def read_events(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    events = []
    for line in path.read_text().splitlines():
        try:
            events.append(json.loads(line))
        except json.JSONDecodeError:
            pass  # a run killed mid-write leaves half a line
    return events


def steps_of(events: Iterable[dict[str, Any]]) -> tuple[list[Step], list[str]]:
    commands, failures = [], []
    for event in events:
        if "resOutputsEvent" in event or "resOpFailedEvent" in event:
            ok = "resOutputsEvent" in event
            meta = (event.get("resOutputsEvent") or event.get("resOpFailedEvent"))["metadata"]
            if meta.get("op") in PROVIDER_OPS and meta.get("type") == COMMAND:
                urn = meta["urn"]
                commands.append(Step(urn.rsplit("::", 1)[-1], urn, COMMAND, meta["op"], ok))
        elif "diagnosticEvent" in event:
            diag = event["diagnosticEvent"]
            if diag.get("severity") == "error":
                where = diag.get("urn", "").rsplit("::", 1)[-1]
                failures.append(f"{where}: {diag['message'].strip()}" if where else diag["message"].strip())
    return commands, failures


class PulumiStack:
    """`source`/`files`: the project whose files the stack's folder links (the program by default;
    the conformance test gives a small project of its own). `provider`: the command provider to
    install (a binary, toolchain.STAND_IN_PROVIDER for the stand-in; None: toolchain.real_provider())."""

    def __init__(self, workdir: Path, stack: str = "lab", passphrase: str = "lab-passphrase",
                 source: Path = ROOT, files: Sequence[str] = PROJECT_FILES, provider: Optional[Path] = None):
        self.workdir = Path(workdir)
        self.stack = stack
        self.project = self.workdir / "project"
        self.home = self.workdir / "pulumi-home"
        self.backend = self.workdir / "pulumi-state"
        for folder in (self.project / "stacks", self.home, self.backend):
            folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            link = self.project / name
            if not link.is_symlink():
                link.symlink_to(Path(source) / name)
        self.env = toolchain.environment(self.home, self.backend, passphrase)
        self.provider = toolchain.install_provider(self.home, self.env, provider)
        self._secrets: dict[str, tuple[str, Any]] = {}  # path -> (plaintext, its `secure` blob)
        self.runs = 0

    @property
    def config_file(self) -> Path:
        return self.project / "stacks" / f"Pulumi.{self.stack}.yaml"

    def pulumi(self, *args: str, stdin: Optional[str] = None, check: bool = True,
               timeout: float = 1800) -> subprocess.CompletedProcess:
        done = subprocess.run(["pulumi", *args], cwd=self.project, env=self.env, input=stdin, text=True,
                              capture_output=True, timeout=timeout)
        if check and done.returncode != 0:
            raise RuntimeError(f"pulumi {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
        return done

    # ------------------------------------------------------------------ the stack and its config
    def init(self) -> None:
        if self.pulumi("stack", "select", self.stack, check=False).returncode != 0:
            self.pulumi("stack", "init", self.stack)

    def configure(self, values: dict[str, Any]) -> None:
        """The stack file an operator keeps: every `elma365:*` value in plain YAML, except the
        secret leaves, which go in with `pulumi config set --secret --path` (encrypted)."""
        plain_values = copy.deepcopy(values)
        wanted = {p: _get(values, p) for p in SECRET_PATHS if _get(values, p) is not None}
        for path in SECRET_PATHS:
            _drop(plain_values, path)
        document = yaml.safe_load(self.config_file.read_text()) if self.config_file.exists() else {}
        document = document or {}
        config = {f"elma365:{k}": v for k, v in plain_values.items()}
        for path, text in wanted.items():
            known = self._secrets.get(path)
            if known and known[0] == text:
                key, _, rest = path.partition(".")
                node = config.setdefault(f"elma365:{key}", {})
                _set(node, rest, known[1])
        document["config"] = config
        self.config_file.write_text(yaml.safe_dump(document, sort_keys=False))
        for path, text in wanted.items():
            if self._secrets.get(path, (None,))[0] != text:
                self.pulumi("config", "set", "--secret", "--path", f"elma365:{path}", "--stack", self.stack, stdin=text)
                stored = yaml.safe_load(self.config_file.read_text())["config"]
                key, _, rest = path.partition(".")
                self._secrets[path] = (text, _get(stored[f"elma365:{key}"], rest))

    # ------------------------------------------------------------------ operations
    def _operation(self, verb: Sequence[str], extra: Sequence[str] = (), timeout: float = 1800,
                   interrupt_when: Optional[Callable[[], bool]] = None, kill_after: Optional[float] = None) -> Report:
        self.runs += 1
        events = self.workdir / f"events-{self.runs}.jsonl"
        argv = ["pulumi", *verb, "--stack", self.stack, "--event-log", str(events), *extra]
        started = time.monotonic()
        proc = subprocess.Popen(argv, cwd=self.project, env=self.env, text=True, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, start_new_session=True)
        if interrupt_when is not None:
            # an operator's Ctrl-C once `interrupt_when()` holds, then (kill_after later) the machine going away
            while proc.poll() is None and not interrupt_when():
                time.sleep(0.05)
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGINT)
                if kill_after is not None:
                    try:
                        proc.wait(timeout=kill_after)
                    except subprocess.TimeoutExpired:
                        os.killpg(proc.pid, signal.SIGKILL)
        try:
            output, _ = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            output, _ = proc.communicate()
        commands, failures = steps_of(read_events(events))
        if proc.returncode != 0 and not failures:
            failures = [line for line in output.splitlines() if line.strip().startswith("error:")] or [output.strip()]
        return Report(argv, proc.returncode, commands, failures, output, time.monotonic() - started)

    def up(self, replace: Iterable[str] = (), target: Iterable[str] = (), extra: Sequence[str] = (),
           **kwargs: Any) -> Report:
        flags = [*(f"--replace={self.urn(r)}" for r in replace), *(f"--target={self.urn(t)}" for t in target)]
        return self._operation(["up", "--yes", "--skip-preview"], [*flags, *extra], **kwargs)

    def preview(self, extra: Sequence[str] = (), **kwargs: Any) -> Report:
        return self._operation(["preview"], extra, **kwargs)

    def refresh(self, extra: Sequence[str] = (), **kwargs: Any) -> Report:
        return self._operation(["refresh", "--yes", "--skip-preview"], extra, **kwargs)

    def destroy(self, extra: Sequence[str] = (), **kwargs: Any) -> Report:
        return self._operation(["destroy", "--yes", "--skip-preview"], extra, **kwargs)

    def cancel(self) -> subprocess.CompletedProcess:
        return self.pulumi("cancel", "--yes", "--stack", self.stack, check=False)

    def export(self, show_secrets: bool = False) -> dict[str, Any]:
        """The stack's state; `show_secrets`: with the secrets decrypted (the lab's passphrase)."""
        extra = ["--show-secrets"] if show_secrets else []
        return json.loads(self.pulumi("stack", "export", *extra, "--stack", self.stack).stdout)

    def urn(self, name_or_urn: str) -> str:
        """A resource's URN from its name (as the state has it); a URN is returned as it is."""
        if name_or_urn.startswith("urn:"):
            return name_or_urn
        found = [r["urn"] for r in self.export()["deployment"].get("resources", [])
                 if r["urn"].rsplit("::", 1)[-1] == name_or_urn]
        if len(found) != 1:
            raise KeyError(f"{name_or_urn}: {len(found)} resources of that name in the state")
        return found[0]

    def state_files(self) -> list[Path]:
        """The stack's checkpoint and its history and backups: everything the backend keeps."""
        return [p for p in self.backend.rglob("*") if p.is_file()]
