"""Reads the `elma365:*` stack config from Pulumi and parses it into a Site (the only Pulumi-aware part)."""
from __future__ import annotations

import json
from typing import Any

import pulumi
import pulumi.runtime

from .rules import NAMESPACE, TOP_LEVEL_KEYS
from .site import Site, SiteConfigError, parse_site


def _all_keys() -> dict[str, Any]:
    # Unknown keys are read too, so that a typo such as `elma365:hA` is reported, not ignored.
    config = pulumi.runtime.config.CONFIG.get()
    env = pulumi.runtime.config.get_config_env() or {}
    keys = {k for k in list(config) + list(env) if k.startswith(NAMESPACE + ":")}
    keys |= {f"{NAMESPACE}:{k}" for k in TOP_LEVEL_KEYS}
    values: dict[str, Any] = {}
    for full in sorted(keys):
        raw = pulumi.runtime.get_config(full)
        if raw is None:
            continue
        try:
            values[full.split(":", 1)[1]] = json.loads(raw) if isinstance(raw, str) else raw
        except json.JSONDecodeError:
            values[full.split(":", 1)[1]] = raw
    return values


def load_site() -> Site:
    values = _all_keys()
    secret = {k for k in values if pulumi.runtime.is_config_secret(f"{NAMESPACE}:{k}")}
    try:
        return parse_site(values, secret)
    except SiteConfigError as exc:
        raise pulumi.RunError(str(exc)) from None
