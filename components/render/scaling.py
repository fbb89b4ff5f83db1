"""The scaling step: `elma365ctl scale` with the manual replica counts, after the settings.

Each count applies settings, so each is guarded (shell.applied_guard): it runs its tool only when the
count differs from what the node recorded after the step's last successful run."""
from __future__ import annotations

from typing import Any

from ..site import Site
from .shell import adopt_env, applied_guard, q, record_applied, remote


def scale_settings(site: Site, service: str, replicas: int) -> dict[str, Any]:
    # a switch of autoscaling may have moved the counts: a scale command re-applies after one
    auto = site.scaling.autoscaling
    return {"service": service, "replicas": int(replicas),
            "autoscaling": None if auto is None else [auto.enabled, auto.min_replicas, auto.max_replicas]}


def scale_command(site: Site, service: str, replicas: int, adopt: bool = False) -> str:
    """`elma365ctl scale` sets a desired count."""
    body = f"""
{applied_guard(f"scale-{service}")}
elma365ctl scale {q(service)} {int(replicas)}
{record_applied()}
echo "{service} scaled to {int(replicas)} replica(s)"
"""
    return remote(body, sudo=site.ssh.needs_sudo, env=adopt_env(adopt))
