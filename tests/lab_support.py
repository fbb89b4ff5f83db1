"""Helpers for the lab tests: a lab site, the runner, and reading the simulator's journal."""
from __future__ import annotations

import os
import shutil
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

import pytest

from lab.runner import DEFAULT_STACK, lab_values, up
from lab.site import LabSite

# Read-only checks the program makes before acting; they change nothing on a node.
CHECKS = {("microk8s", "status"), ("microk8s", "kubectl"), ("snap", "list"), ("elma365ctl", "status"),
          ("microk8s", "config")}


def lab_available() -> Optional[str]:
    if os.geteuid() != 0:
        return "the lab needs root (sshd per node in its own mount namespace)"
    for tool in ("/usr/sbin/sshd", "expect", "ssh", "unshare", "haproxy"):
        if not (os.path.exists(tool) or shutil.which(tool)):
            return f"{tool} is missing (make test installs it)"
    return None


needs_lab = pytest.mark.skipif(lab_available() is not None, reason=lab_available() or "")


@dataclass
class Entry:
    node: str
    action: str  # e.g. "installer", "add-node", "join", "scale main 3", "update-hamode"
    start: float
    end: float
    rc: int


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
    """One lab site plus one stack's state: `up()` is one `pulumi up`."""

    def __init__(self, directory: Path, nodes: int = 3, durations: Optional[dict] = None,
                 faults: Optional[dict] = None):
        self.dir = Path(directory)
        self.site = LabSite(str(self.dir))
        self.info = self.site.up(nodes=nodes, haproxy=True, durations=durations or {}, faults=faults or {})
        self.state = self.dir / "pulumi-state.json"
        for old in (self.state, self.state.with_suffix(".key")):  # a new lab starts with an empty stack
            old.unlink(missing_ok=True)
        self.values = lab_values(DEFAULT_STACK, self.info)
        self.log: list[str] = []

    def up(self, values: Optional[dict[str, Any]] = None, replace=(), multiplex: bool = True):
        return up(values or self.values, self.state, replace=replace, log=self.log.append, multiplex=multiplex)

    def journal(self, since: int = 0, with_checks: bool = False) -> list[Entry]:
        entries = []
        for raw in self.site.journal()[since:]:
            argv = raw["argv"]
            key = (os.path.basename(argv[0]), argv[1] if len(argv) > 1 else "")
            if not with_checks and key in CHECKS:
                continue
            entries.append(Entry(raw["node"], action_of(argv), raw["start"], raw["end"], raw["rc"]))
        return sorted(entries, key=lambda e: e.start)

    def mark(self) -> int:
        return len(self.site.journal())

    def node_values(self, count: int) -> dict[str, Any]:
        values = lab_values(DEFAULT_STACK, self.info, nodes=count)
        return values

    def down(self) -> None:
        self.site.down()


@dataclass
class Sent:
    """One GET through the load balancer."""
    at: float                 # when it was sent, in the caller's clock (e.g. seconds into a load)
    ok: bool                  # answered 200
    node: Optional[str]       # the node that answered (X-Elma365-Node)
    error: str = ""
    seconds: float = 0.0


def one(url: str, at: float = 0.0, timeout: float = 1.5) -> Sent:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return Sent(at, response.status == 200, response.headers.get("X-Elma365-Node"),
                        seconds=time.monotonic() - started)
    except Exception as exc:  # refused, 5xx, timeout: a failed request
        return Sent(at, False, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)


def wait_all_in_rotation(url: str, names: set[str], deadline: float = 20.0) -> float:
    """Seconds until every node in `names` has answered through `url`; fails after `deadline`.
    HAProxy takes a node in only after `rise` good checks, so right after a fresh `up` the
    load balancer may still be counting."""
    start = time.monotonic()
    seen: set[str] = set()
    while time.monotonic() - start < deadline:
        sent = one(url)
        if sent.ok and sent.node:
            seen.add(sent.node)
            if seen >= names:
                return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not every node is in rotation after {deadline} s: saw {sorted(seen)}")
