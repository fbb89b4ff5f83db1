"""Shell plumbing shared by every remote step: strict mode, sudo, quoting, package installs."""
from __future__ import annotations

import shlex

q = shlex.quote

STATE_DIR = "/var/lib/elma365-cluster"
WORK_DIR = "/opt/elma365-cluster"


def remote(body: str, *, sudo: bool) -> str:
    """Wrap a script so it runs the same under any login shell, failing on the first error.

    The script travels as one quoted argument; secrets never do: they come on stdin."""
    script = "set -euo pipefail\n" + body.strip() + "\n"
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
