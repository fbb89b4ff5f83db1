"""Helpers for the lab tests: whether the lab can run here, and requests through its load balancer."""
from __future__ import annotations

import os
import shutil
import time
from typing import Optional

import pytest

from lab import toolchain
from lab.load import one


def lab_available() -> Optional[str]:
    if os.geteuid() != 0:
        return "the lab needs root (sshd per node in its own mount namespace)"
    for tool in ("/usr/sbin/sshd", "expect", "ssh", "unshare", "haproxy"):
        if not (os.path.exists(tool) or shutil.which(tool)):
            return f"{tool} is missing (make test installs it)"
    return toolchain.missing()


needs_lab = pytest.mark.skipif(lab_available() is not None, reason=lab_available() or "")

# Simulated tool durations short enough for many labs per run; a test that measures order gives its own.
FAST = {"install": 0.3, "join": 0.2, "update_hamode": 0.2, "token_ttl": 600}


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
