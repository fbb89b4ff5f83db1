"""The settings step: `elma365ctl reconfigure` on the main node after the last join, answering every
setting it asks (autoscaling, Linkerd, HA mode, the external services)."""
from __future__ import annotations

from typing import Any

from .. import names
from ..site import Ha, Install, Scaling
from . import quorum
from .answers import expect_driver, settings_replies
from .backups import datastore_backup
from .shell import (APPLIED_DIR, applied_guard, ensure_package, record_applied, remote,
                    stdin_to_private_file)
from .template import Raw, Text, fill  # Raw: the shared fragments rendered in shell.py


def settings(install: Install, scaling: Scaling, ha: Ha) -> list[Any]:
    """What `elma365ctl reconfigure` applies: every answer it is given."""
    return [[r.pattern, r.text] for r in settings_replies(install, scaling, ha)]


def reconfigure_command(main_name: str, main_datastore: str, scaling: Scaling, datastore_backups: int, *,
                        sudo: bool) -> str:
    """`elma365ctl reconfigure` asks every setting again (autoscaling, Linkerd, HA, the external
    services): it runs when any of them differs from what the node last applied (or installed).
    Autoscaling switched on moves the replica counts: the manual counts applied before no longer
    hold, so their records go, and the scale steps run again when the site returns to them. It runs
    only while the datastore's answering voters are a majority (the quorum gate; `main_datastore`: how
    the datastore lists the main node)."""
    auto = scaling.autoscaling
    forget_counts = f"rm -f {APPLIED_DIR}/scale-*\n" if auto is not None and auto.enabled else ""
    gate = quorum.gate(quorum.Change("elma365ctl reconfigure"), main_name, main_datastore)
    body = fill("reconfigure.sh", applied_guard=Raw(applied_guard(names.APPLIED_SETTINGS)), quorum_gate=Raw(gate),
                private_driver=Raw(stdin_to_private_file("driver", "reconfigure.exp")),
                ensure_expect=Raw(ensure_package("expect", "expect")),
                datastore_backup=Raw(datastore_backup(datastore_backups, "the settings (HA mode) change")),
                main_text=Text(main_name), record_applied=Raw(record_applied()), forget_counts=Raw(forget_counts))
    return remote(body, sudo=sudo)


def reconfigure_stdin(install: Install, scaling: Scaling, ha: Ha) -> str:
    return expect_driver(settings_replies(install, scaling, ha), tool="elma365ctl reconfigure",
                         transcript="reconfigure", question_timeout=install.question_timeout_seconds,
                         timeout_minutes=install.timeout_minutes)
