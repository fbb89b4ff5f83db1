"""A lab site plus one stack of the program on it, and the simulator's journal read as actions.

Used by the lab tests and by `make measure`; nothing here is part of the program."""
from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lab.runner import DEFAULT_STACK, lab_values
from lab.site import LabSite
from lab.stack import PulumiStack, Report

# Read-only checks the program makes before acting; they change nothing on a node.
CHECKS = {("microk8s", "status"), ("microk8s", "kubectl"), ("snap", "list"), ("snap", "version"), ("snap", "get"),
          ("elma365ctl", "status"),
          ("microk8s", "config"), ("microk8s", "version"),
          ("microk8s", "dbctl")}  # a datastore backup: it writes a file, the cluster stays as it is
# ... but a restore writes the datastore
CHANGES = {("microk8s", "dbctl", "restore")}


@dataclass
class Entry:
    node: str
    action: str  # e.g. "installer", "add-node", "join", "scale main 3", "update-hamode"
    start: float
    end: float
    rc: int


def is_check(argv: list[str]) -> bool:
    """A read-only call: it changes nothing on a node (`kubectl get` and `refresh-certs -c` are; `kubectl
    drain`, `cordon`, `uncordon`, `snap refresh` in any form, `snap set`, `refresh-certs -e` and snapd's
    auto-refresh are not)."""
    tool, args = os.path.basename(argv[0]), argv[1:]
    if tool == "microk8s" and args[:1] == ["kubectl"]:
        return args[1:2] == ["get"]
    if tool == "microk8s" and args[:1] == ["refresh-certs"]:
        return args[1:2] in (["-c"], ["--check"])
    if (tool, *args[:2]) in CHANGES:
        return False
    return (tool, args[0] if args else "") in CHECKS


def action_of(argv: list[str]) -> str:
    tool = os.path.basename(argv[0])
    if tool.startswith("elma365-installer"):
        return "installer"
    args = [a for a in argv[1:] if not a.startswith("<")]
    if tool == "microk8s" and args[:1] == ["join"]:
        return "join"
    # the vendor's own verbs (elma365ctl, microk8s) stand alone; other tools keep their name
    return " ".join(args) if tool in ("elma365ctl", "microk8s") else f"{tool} {' '.join(args)}".strip()


class Lab:
    """One lab site plus one stack of the program on it: `up()` is one `pulumi up` of the real CLI."""

    def __init__(self, directory: Path, nodes: int = 3, durations: Optional[dict] = None,
                 faults: Optional[dict] = None, session_path: Optional[str] = None, balancers: int = 0):
        self.dir = Path(directory)
        self.site = LabSite(str(self.dir))
        self.info = self.site.up(nodes=nodes, haproxy=True, durations=durations or {}, faults=faults or {},
                                 session_path=session_path, balancers=balancers)
        shutil.rmtree(self.dir / "stack", ignore_errors=True)  # a new lab starts with an empty stack
        self.stack = PulumiStack(self.dir / "stack")
        self.stack.init()
        self.values = lab_values(DEFAULT_STACK, self.info)

    def up(self, values: Optional[dict[str, Any]] = None, replace=(), **kwargs: Any) -> Report:
        self.stack.configure(values or self.values)
        return self.stack.up(replace=replace, **kwargs)

    def preview(self, values: Optional[dict[str, Any]] = None, **kwargs: Any) -> Report:
        self.stack.configure(values or self.values)
        return self.stack.preview(**kwargs)

    def journal(self, since: int = 0, with_checks: bool = False) -> list[Entry]:
        entries = []
        for raw in self.site.journal()[since:]:
            argv = raw["argv"]
            if not with_checks and is_check(argv):
                continue
            entries.append(Entry(raw["node"], action_of(argv), raw["start"], raw["end"], raw["rc"]))
        return sorted(entries, key=lambda e: e.start)

    def step_stdout(self) -> dict[str, str]:
        """Each step's stdout of its last run, from the stack's state (the lab's passphrase)."""
        exported = self.stack.export(show_secrets=True)
        return {r["urn"].rsplit("::", 1)[1]: (r.get("outputs") or {}).get("stdout") or ""
                for r in exported["deployment"].get("resources", []) if r["type"] == "command:remote:Command"}

    def mark(self) -> int:
        return len(self.site.journal())

    def node_values(self, count: int) -> dict[str, Any]:
        return lab_values(DEFAULT_STACK, self.info, nodes=count)

    def down(self) -> None:
        self.site.down()
