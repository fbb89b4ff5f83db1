"""Shell plumbing shared by every remote step: strict mode, sudo, quoting, package installs."""
from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

from .template import Both, Raw, Text, fill

q = shlex.quote

STATE_DIR = "/var/lib/elma365-cluster"
WORK_DIR = "/opt/elma365-cluster"
APPLIED_DIR = f"{STATE_DIR}/applied"   # root-only: digests of applied settings
RUNS_DIR = f"{STATE_DIR}/runs"         # root-only: logs and locks of detached runs
INSTALLED_MARKER = f"{STATE_DIR}/installed"
BACKUP_DIR = f"{STATE_DIR}/backups"    # root-only: datastore backups taken before risky steps
# `sudo` resets PATH to its secure_path, and a non-login SSH session gets sshd's default: on several
# distributions neither has /snap/bin (microk8s, snap) or the sbin folders (haproxy)
SEARCH_PATH = 'PATH="$PATH:/usr/local/sbin:/usr/local/bin:/usr/sbin:/sbin:/snap/bin"'
JOINED_MARKER = f"{STATE_DIR}/joined"
# Left by a take-over (elma365:adopt) on a node that was a cluster member before this program came:
# the settings steps of that run record the config's settings as applied instead of applying them.
# Inside APPLIED_DIR, so whatever forgets the applied settings (a leave, a fresh join) forgets it;
# the last guarded step of the node removes it, so a step added later applies for real.
TAKEN_OVER_MARK = f"{APPLIED_DIR}/taken-over"

# A long or one-time vendor command (the installer, a join) must not die with the SSH session of an
# interrupted `pulumi up`: it runs in a session of its own, holding a lock, logging to a root-only
# file; the step relays its output and its exit status. A re-run of the step that finds the lock
# held waits for that earlier run to end, then checks again whether there is anything left to do.
DETACHED = fill("detached.sh", runs_dir=RUNS_DIR)


def digest(settings: Any) -> str:
    """A fingerprint of what a step applies (its settings, secrets included): it travels on the
    step's secret stdin and is kept root-only on the node, never in a command line."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def applied_guard(step: str, *, unset: str = "", last: bool = False) -> str:
    """The head of a step that applies settings: it reads the settings' digest from stdin's first
    line and ends the step at once when the node recorded that digest for `step` after its last
    successful run. A new SSH key, user, bastion, logging or script text changes the command,
    never the digest, so it re-runs nothing. `unset` is the digest a node has before the step ever
    ran (e.g. HA off, as every node starts). On a node taken over (TAKEN_OVER_MARK) a missing
    record means "as the config states": the record is written and nothing runs; `last`: this is
    the node's last guarded step, which ends the take-over (see record_applied)."""
    return fill("applied-guard.sh", step=Both(step), applied_dir=APPLIED_DIR, unset=unset,
                taken_over=TAKEN_OVER_MARK, record_applied=Raw(record_applied(last)))  # a line rendered below


def record_applied(last: bool = False) -> str:
    """The tail of a guarded step: remember what was applied (only reached when it succeeded). After
    the node's last guarded step (`last`) a take-over is over: a step added later applies for real."""
    release = f" && rm -f {TAKEN_OVER_MARK}" if last else ""
    return (f"mkdir -p {APPLIED_DIR} && chmod 700 {APPLIED_DIR} && "
            """printf '%s\\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied\"""" + release)


def take_over_mark() -> str:
    """Leave TAKEN_OVER_MARK on a node taken over (elma365:adopt): see applied_guard."""
    return f"mkdir -p {APPLIED_DIR} && chmod 700 {APPLIED_DIR} && touch {TAKEN_OVER_MARK}"


def remote(body: str, *, sudo: bool) -> str:
    """Wrap a script so it runs the same under any login shell, failing on the first error.

    The script travels as one quoted argument; secrets never do: they come on stdin."""
    script = f"{SEARCH_PATH}\nset -euo pipefail\n" + body.strip() + "\n"
    prefix = "sudo -n " if sudo else ""
    return f"{prefix}bash -c {q(script)}"


def ensure_package(command: str, package: str) -> str:
    """Install `package` with the host's package manager unless `command` is already there."""
    return fill("ensure-package.sh", command=Both(command), package=Both(package))


def stdin_to_private_file(var: str, name: str) -> str:
    """Save stdin to a root-only temp file that is removed however the script ends."""
    return fill("stdin-to-private-file.sh", var=var, name=name)
