"""The scaling step: `elma365ctl scale` with the manual replica counts, after the settings.

Each count applies settings, so each is guarded (shell.applied_guard): it runs its tool only when the
count differs from what the node recorded after the step's last successful run."""
from __future__ import annotations

from typing import Any

from .. import names
from ..site import Scaling
from .shell import applied_guard, record_applied, remote
from .template import Both, Raw, fill  # Raw: the shared fragments rendered in shell.py


def scale_settings(scaling: Scaling, service: str, replicas: int) -> dict[str, Any]:
    # a switch of autoscaling may have moved the counts: a scale command re-applies after one
    auto = scaling.autoscaling
    return {"service": service, "replicas": int(replicas),
            "autoscaling": None if auto is None else [auto.enabled, auto.min_replicas, auto.max_replicas]}


def scale_command(service: str, replicas: int, *, sudo: bool) -> str:
    """`elma365ctl scale` sets a desired count."""
    body = fill("scale.sh", applied_guard=Raw(applied_guard(names.applied_scale(service))), service=Both(service),
                replicas=int(replicas), record_applied=Raw(record_applied()))
    return remote(body, sudo=sudo)
