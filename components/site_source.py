"""Reads the `elma365:*` stack config and the previous deployment's record from Pulumi (the only
Pulumi-aware part of reading a site)."""
from __future__ import annotations

from typing import Any, Optional

import pulumi
import pulumi.runtime

from pulumi.runtime.sync_await import _sync_await

from .record import RECORD_OUTPUT, Record, from_outputs, transition_problems
from .rules import CONFIG_NAMESPACE, TOP_LEVEL_KEYS
from .site import Site, SiteConfigError, config_value, parse_site


def _all_keys() -> dict[str, Any]:
    # Unknown keys are read too, so that a typo such as `elma365:hA` is reported, not ignored. The
    # language host hands the program the whole config as PULUMI_CONFIG, which the SDK's public
    # get_config_env() reads (it is where get_config falls back to); the known keys are asked for by
    # name as well, for a host that sets the config only with set_all_config (no public call lists those).
    env = pulumi.runtime.get_config_env() or {}
    keys = {k for k in env if k.startswith(CONFIG_NAMESPACE + ":")}
    keys |= {f"{CONFIG_NAMESPACE}:{k}" for k in TOP_LEVEL_KEYS}
    values: dict[str, Any] = {}
    for full in sorted(keys):
        raw = pulumi.runtime.get_config(full)
        if raw is not None:
            values[full.split(":", 1)[1]] = config_value(raw)
    return values


def load_site() -> Site:
    values = _all_keys()
    secret = {k for k in values if pulumi.runtime.is_config_secret(f"{CONFIG_NAMESPACE}:{k}")}
    try:
        return parse_site(values, secret)
    except SiteConfigError as exc:
        raise pulumi.RunError(str(exc)) from None


def load_previous(site: Site) -> Optional[Record]:
    """The record the last successful `pulumi up` of this stack exported, read back through a
    StackReference to this very stack; a change it does not allow (another main node, more than one
    node out at once) stops the program here, before any step exists, so nothing runs anywhere."""
    me = f"{pulumi.get_organization()}/{pulumi.get_project()}/{pulumi.get_stack()}"
    reference = pulumi.StackReference("previous-deployment", stack_name=me)
    # the program decides which steps exist from it, so it is needed now, not as an Output
    details = _sync_await(reference.get_output_details(RECORD_OUTPUT))
    previous = from_outputs({RECORD_OUTPUT: details.value if details.value is not None else details.secret_value})
    problems = transition_problems(previous, site)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise pulumi.RunError(f"this change is refused; nothing was changed on any server:\n{lines}")
    return previous
