"""Shell plumbing shared by every remote step: strict mode, sudo, quoting, package installs."""
from __future__ import annotations

import hashlib
import json
import shlex
from typing import Any

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

# A long or one-time vendor command (the installer, a join) must not die with the SSH session of an
# interrupted `pulumi up`: it runs in a session of its own, holding a lock, logging to a root-only
# file; the step relays its output and its exit status. A re-run of the step that finds the lock
# held waits for that earlier run to end, then checks again whether there is anything left to do.
DETACHED = f"""runs={RUNS_DIR}
mkdir -p "$runs" && chmod 700 "$runs"
run_detached() {{  # NAME CMD...: CMD in its own session; its output on stderr; its status returned
  local name=$1; shift
  local log="$runs/$name.log" rc=0
  : > "$log"
  setsid flock "$runs/$name.lock" "$@" < /dev/null > "$log" 2>&1 &
  local pid=$!
  tail -s 0.1 -n +1 -f --pid="$pid" "$log" >&2 &
  local tailer=$!
  wait "$pid" || rc=$?
  wait "$tailer" || true
  return "$rc"
}}
waited_for_earlier() {{  # NAME: 0 when an earlier session's run of NAME was still under way and has now ended
  [ -e "$runs/$1.lock" ] || return 1
  flock -n "$runs/$1.lock" true && return 1
  echo "$1: a run started by an earlier, interrupted session is still under way; waiting for it to end" >&2
  flock "$runs/$1.lock" true
}}"""


def digest(settings: Any) -> str:
    """A fingerprint of what a step applies (its settings, secrets included): it travels on the
    step's secret stdin and is kept root-only on the node, never in a command line."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:32]


def applied_guard(step: str, *, unset: str = "") -> str:
    """The head of a step that applies settings: it reads the settings' digest from stdin's first
    line and ends the step at once when the node recorded that digest for `step` after its last
    successful run. A new SSH key, user, bastion, logging or script text changes the command,
    never the digest, so it re-runs nothing. `unset` is the digest a node has before the step ever
    ran (e.g. HA off, as every node starts). With ADOPT=1 (the step's `update`: it ran before) a
    missing record means an earlier version of this program, which kept none, applied the step:
    the record is written and nothing runs."""
    return f"""IFS= read -r want || true
[ -n "$want" ] || {{ echo "ERROR: {step}: no settings digest on stdin" >&2; exit 1; }}
applied={APPLIED_DIR}/{step}
if [ -e "$applied" ]; then have=$(cat "$applied")
elif [ "${{ADOPT:-0}}" = 1 ]; then have=$want; echo "{step}: applied by an earlier version of elma365-cluster"
else have={q(unset)}
fi
if [ "$have" = "$want" ]; then
  {record_applied()}
  echo "{step}: already applied here; nothing to do"
  exit 0
fi"""


def record_applied() -> str:
    """The tail of a guarded step: remember what was applied (only reached when it succeeded)."""
    return (f"mkdir -p {APPLIED_DIR} && chmod 700 {APPLIED_DIR} && "
            """printf '%s\\n' "$want" > "$applied.tmp" && mv -f "$applied.tmp" "$applied\"""")


def adopt_env(adopt: bool) -> str:
    """The `env` of a guarded step's `update` (it ran before): see applied_guard."""
    return "ADOPT=1" if adopt else ""


def remote(body: str, *, sudo: bool, env: str = "") -> str:
    """Wrap a script so it runs the same under any login shell, failing on the first error.

    The script travels as one quoted argument; secrets never do: they come on stdin. `env` is
    assignments at the script's head (e.g. ADOPT=1): neither AcceptEnv nor sudo's environment
    rules can be relied on."""
    script = (f"{env}\n" if env else "") + f"{SEARCH_PATH}\nset -euo pipefail\n" + body.strip() + "\n"
    prefix = "sudo -n " if sudo else ""
    return f"{prefix}bash -c {q(script)}"


def ensure_package(command: str, package: str) -> str:
    """Install `package` with the host's package manager unless `command` is already there."""
    return f"""if ! command -v {q(command)} >/dev/null 2>&1; then
  echo "installing {package} (needed for {command})" >&2
  if command -v apt-get >/dev/null 2>&1; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q {q(package)} >&2 || {{ apt-get update -q >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q {q(package)} >&2; }}
  elif command -v dnf >/dev/null 2>&1; then dnf install -y -q {q(package)} >&2
  elif command -v yum >/dev/null 2>&1; then yum install -y -q {q(package)} >&2
  else echo "ERROR: {command} is missing and no known package manager is available to install {package}" >&2; exit 1
  fi
fi"""


def stdin_to_private_file(var: str, name: str) -> str:
    """Save stdin to a root-only temp file that is removed however the script ends."""
    return f"""umask 077
workdir=$(mktemp -d /tmp/elma365-cluster.XXXXXX)
trap 'rm -rf "$workdir"' EXIT
{var}="$workdir/{name}"
cat > "${var}\""""


def datastore_backup(keep: int, before: str) -> str:
    """On the main node, before a step that changes membership or HA mode: `microk8s dbctl backup`
    (MicroK8s' scripts/wrappers/dbctl.py: a tar.gz of the dqlite datastore, restored with `microk8s
    dbctl restore <file>`), the last `keep` kept. Skipped with a warning where MicroK8s has no dbctl,
    or cannot back up (it exits 10 unless the API server runs with the ha-cluster datastore)."""
    if keep <= 0:
        return ""
    return f"""if ! microk8s dbctl --help >/dev/null 2>&1; then
  echo "WARNING: this MicroK8s has no 'microk8s dbctl': no datastore backup before {before}" >&2
else
  mkdir -p {BACKUP_DIR} && chmod 700 {BACKUP_DIR}
  backup={BACKUP_DIR}/datastore-$(date -u +%Y%m%dT%H%M%SZ)
  rc=0; microk8s dbctl backup -o "$backup" >&2 || rc=$?
  if [ "$rc" = 10 ]; then
    echo "WARNING: microk8s dbctl cannot back up here (API server down, or no ha-cluster datastore): no datastore backup before {before}" >&2
  elif [ "$rc" != 0 ]; then
    echo "ERROR: the datastore backup before {before} failed (microk8s dbctl exited $rc); nothing was changed. Fix it, or set elma365:install.datastoreBackups to 0" >&2
    exit 1
  else
    echo "datastore backed up to $backup.tar.gz before {before}" >&2
    find {BACKUP_DIR} -maxdepth 1 -name 'datastore-*.tar.gz' | sort -r | tail -n +{int(keep) + 1} | xargs -r rm -f
  fi
fi"""
