"""Helpers for the lab tests: whether the lab can run here, and the short simulated durations."""
from __future__ import annotations

import os
import shutil
from typing import Optional

import pytest

from lab import toolchain


def site_available() -> Optional[str]:
    """Why a lab site (its hosts and the simulator, without Pulumi) cannot run here; None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (sshd per node in its own mount namespace)"
    for tool in ("/usr/sbin/sshd", "expect", "ssh", "unshare", "haproxy"):
        if not (os.path.exists(tool) or shutil.which(tool)):
            return f"{tool} is missing (make test installs it)"
    return None


def lab_available() -> Optional[str]:
    return site_available() or toolchain.missing()


needs_lab = pytest.mark.skipif(lab_available() is not None, reason=lab_available() or "")
# a lab site without the program (lab/by_hand.py builds its cluster over plain ssh, no Pulumi)
needs_site = pytest.mark.skipif(site_available() is not None, reason=site_available() or "")

# Simulated tool durations short enough for many labs per run; a test that measures order gives its own.
FAST = {"install": 0.3, "join": 0.2, "update_hamode": 0.2, "token_ttl": 600}


def with_rotated_key(lab) -> dict:
    """The lab's stack values with a new SSH key, authorized on every host first (the lab's hosts
    share one authorized_keys file), as the runbook "Rotate the SSH key" does."""
    import copy
    import subprocess
    from pathlib import Path

    new_key = Path(lab.info["privateKeyPath"]).parent / "id_ed25519_rotated"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(new_key)], check=True)
    with open(lab.info["publicKeyPath"], "a") as authorized:
        authorized.write(new_key.with_suffix(".pub").read_text())
    values = copy.deepcopy(lab.values)
    values["ssh"]["privateKey"] = new_key.read_text()
    return values
