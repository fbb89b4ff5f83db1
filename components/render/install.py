"""The main node's install step: download the vendor installer, run it with the site's answers."""
from __future__ import annotations

from ..site import Site
from .answers import expect_driver, install_replies, settings_replies
from .shell import STATE_DIR, WORK_DIR, ensure_package, q, remote, stdin_to_private_file

INSTALLER = f"{WORK_DIR}/elma365-installer.sh"
INSTALLED_MARKER = f"{STATE_DIR}/installed"


def install_command(site: Site) -> str:
    """Idempotent: a node that finished the install before is left alone."""
    body = f"""
if [ -f {INSTALLED_MARKER} ] && command -v elma365ctl >/dev/null 2>&1; then
  echo "ELMA365 is already installed on {site.main.name}; nothing to do"
  exit 0
fi
{stdin_to_private_file("driver", "installer.exp")}
{ensure_package("expect", "expect")}
{ensure_package("curl", "curl")}
mkdir -p {WORK_DIR} {STATE_DIR}
curl -fsSL --retry 3 -o {INSTALLER}.part {q(site.install.installer_url)}
chmod 700 {INSTALLER}.part
mv -f {INSTALLER}.part {INSTALLER}
expect -f "$driver" -- {INSTALLER} -e {q(site.install.edition)}
touch {INSTALLED_MARKER}
echo "ELMA365 ({q(site.install.edition)}) installed on {site.main.name}"
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def install_stdin(site: Site) -> str:
    return expect_driver(install_replies(site), tool="the installer",
                         question_timeout=site.install.question_timeout_seconds,
                         timeout_minutes=site.install.timeout_minutes)


def reconfigure_command(site: Site, why: str) -> str:
    """`elma365ctl reconfigure` asks every setting again; safe to repeat with the same answers."""
    body = f"""
{stdin_to_private_file("driver", "reconfigure.exp")}
{ensure_package("expect", "expect")}
echo "reconfiguring ELMA365 on {site.main.name}: {why}"
expect -f "$driver" -- elma365ctl reconfigure
"""
    return remote(body, sudo=site.ssh.needs_sudo)


def reconfigure_stdin(site: Site) -> str:
    return expect_driver(settings_replies(site), tool="elma365ctl reconfigure",
                         question_timeout=site.install.question_timeout_seconds,
                         timeout_minutes=site.install.timeout_minutes)
