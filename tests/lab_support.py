"""Helpers for the lab tests: whether the lab can run here, and the short simulated durations."""
from __future__ import annotations

import os
import shutil
from typing import Optional

import pytest

from lab import toolchain


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
