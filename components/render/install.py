"""The main node's install step: download the vendor installer, run it with the site's answers; then
read the MicroK8s channel every joining node gets."""
from __future__ import annotations

from typing import Any, Optional

from ..facts.node import ELMA365_NAMESPACE, SNAP_CHANNEL, facts_script
from ..site import Ha, Install, Scaling
from .answers import expect_driver, install_replies
from .preflight import live_elma365
from .settings import settings
from .shell import (APPLIED_DIR, DETACHED, INSTALLED_MARKER, WORK_DIR, ensure_package, record_applied, remote,
                    take_over_mark)
from .template import Both, Raw, Text, fill

INSTALLER = f"{WORK_DIR}/elma365-installer.sh"


def installed_settings(install: Install, scaling: Scaling) -> list[Any]:
    """The same settings as the installer leaves them: HA is never switched on by the installer."""
    return settings(install, scaling, Ha(enabled=False))


def install_command(main_name: str, install: Install, adopt: bool, *, sudo: bool) -> str:
    """Idempotent and safe to interrupt: a node that finished the install before is left alone; an
    installer still running from an interrupted run is waited for, not started twice; and the
    installer never runs where ELMA365 runs already, or on a member of a MicroK8s cluster: with
    `elma365:adopt` such a node is taken over instead (components/scripts/install-take-over.sh).
    Records the settings it installed with (stdin's first line), for the reconfigure step."""
    main = Text(main_name)
    if adopt:
        on_live = fill("install-take-over.sh", record_applied=Raw(record_applied()), take_over_mark=Raw(take_over_mark()),
                       installed_marker=INSTALLED_MARKER, main_text=main)  # Raw: shell.py's fragments
    else:
        on_live = fill("install-refuse-live.sh", main_text=main, namespace=ELMA365_NAMESPACE, refusal=live_elma365(adopt)[1])
    body = fill("install.sh", applied_dir=APPLIED_DIR, detached=Raw(DETACHED), installed_marker=INSTALLED_MARKER,
                facts=Raw(facts_script(main_name)), on_live_elma365=Raw(on_live),  # Raw: rendered here
                main_text=main, ensure_expect=Raw(ensure_package("expect", "expect")),
                ensure_curl=Raw(ensure_package("curl", "curl")), work_dir=WORK_DIR, installer=INSTALLER,
                installer_url=install.installer_url, edition=Both(install.edition))  # Raw: parts of scripts/ this program filled
    return remote(body, sudo=sudo)


def install_stdin(install: Install, scaling: Scaling) -> str:
    return expect_driver(install_replies(install, scaling), tool="the installer", transcript="installer",
                         question_timeout=install.question_timeout_seconds,
                         timeout_minutes=install.timeout_minutes)


def microk8s_channel_command(main_name: str, pin: Optional[str], *, sudo: bool) -> str:
    """On the main node, after the install: the snap channel its MicroK8s tracks, which every joining
    node gets. On the site's first deployment a channel the site pins (`pin`: install.microk8sChannel)
    must be that one: a mismatch stops here, before any join. A pin changed later (`pin` None: the
    step's update) asks for a rolling refresh (components/refresh.py), which the preflight checked."""
    main = Text(main_name)
    check = fill("microk8s-channel-pin.sh", pin=Both(pin), main_text=main) + "\n" if pin else ""
    body = fill("microk8s-channel.sh", snap_channel=Raw(SNAP_CHANNEL), main_text=main,
                pin_check=Raw(check))  # Raw: the fact layer's read; the check above, or nothing
    return remote(body, sudo=sudo)
