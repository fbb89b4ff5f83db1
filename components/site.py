"""The site config's front door: `parse_site` turns the raw `elma365:*` values into the model
(components/model.py, re-exported here), or raises one SiteConfigError listing every problem.

The import chain runs one way: keys (how a field names its key) -> model (the dataclasses, each
field's key and default) -> rules (value and cross-field checks, each building its part of the
model) -> this module. parse_site walks the raw values once: each rule checks its part of the config
and returns what builds that part of the model; nothing is built from a half-valid config.
"""
from __future__ import annotations

import json
from typing import Any, Mapping

from .model import (  # noqa: F401  (the model, for every reader of the site)
    Answer,
    Autoscaling,
    BackupHost,
    BalancerHost,
    Bastion,
    Ha,
    Haproxy,
    HaproxyStats,
    HaproxyTimeouts,
    HaproxyTls,
    HealthCheck,
    Install,
    Keepalived,
    Kubernetes,
    Node,
    Preflight,
    Scaling,
    Secret,
    Site,
    Ssh,
    SshServer,
)
from .rules import RawSite, Violation, build, parse


class SiteConfigError(ValueError):
    def __init__(self, violations: list[Violation]):
        self.violations = violations
        lines = "\n".join(f"  - {v}" for v in violations)
        super().__init__(f"the site config has {len(violations)} problem(s); nothing was changed on any server:\n{lines}")


def config_value(raw: Any) -> Any:
    """A top-level config value as the program reads it: Pulumi keeps a scalar set with `pulumi
    config set` as text (`elma365:adopt: "true"`), and an object set with `--path` as an object."""
    if not isinstance(raw, str):
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def parse_site(values: Mapping[str, Any], secret_keys: frozenset[str] | set[str] = frozenset()) -> Site:
    violations, fields = parse(RawSite(values, frozenset(secret_keys)))
    if violations:
        raise SiteConfigError(violations)
    return build(Site, **fields)
