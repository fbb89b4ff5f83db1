"""The one projection of the site model (components/site.py): `view` gives any part of it as plain
data under its config keys, every secret left out. What the stack exports and what the policies read
are selections of `view(site)`:

- `public_view`: the Elma365Cluster component's inputs (what the policy pack reads);
- `Record.of` (components/record.py): the stack output `site`, what the next run compares the config with;
- `configured`: the stack output `configured`;
- `targets`: how `make verify` reaches each server (components/verify/).

Their shapes are the ones earlier versions recorded: an upgrade changes no input and no output.
"""
from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any, Mapping

from .keys import is_public, key_of

if TYPE_CHECKING:  # the model imports this module (Preflight.thresholds): only its type here
    from .model import Site


def view(value: Any) -> Any:
    """A model object as plain data: each field under its config key, a field typed Secret left out
    (a map of secrets shows only its names)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in dataclasses.fields(value):
            item = getattr(value, f.name)
            if "Secret" not in str(f.type):
                out[key_of(f)] = view(item)
            elif isinstance(item, Mapping):
                out[key_of(f)] = sorted(item)
        return out
    if isinstance(value, Mapping):
        return {k: view(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [view(v) for v in value]
    return value


def public_keys(value: Any) -> list[str]:
    """The keys of a model object that the public view shows (components/keys.py: is_public)."""
    return [key_of(f) for f in dataclasses.fields(value) if is_public(f)]


def pick(data: Mapping[str, Any], *keys: str) -> dict[str, Any]:
    return {k: data[k] for k in keys}


def public_view(site: Site) -> dict[str, Any]:
    """The site with every secret left out: safe for state, outputs and policies."""
    p = view(site)
    h = p["haproxy"]
    return {
        **pick(p, "adopt", "ssh"),
        "nodes": [pick(n, *public_keys(node)) for n, node in zip(p["nodes"], site.nodes)],
        "install": {**pick(p["install"], *public_keys(site.install), "externalServices"),   # its names only
                    "answerPrompts": [a["prompt"] for a in p["install"]["answers"]]},
        **pick(p, "scaling", "ha"),
        "haproxy": None if h is None else {
            "host": h["hosts"][0]["host"], **pick(h, "bind", "backendPort", "configPath", "reloadCommand"),
            **({"hosts": [b["host"] for b in h["hosts"]]} if len(h["hosts"]) > 1 else {}),
            **({"virtualIp": h["keepalived"]["address"]} if h["keepalived"] else {})},
    }


def configured(site: Site) -> dict[str, Any]:
    """What the cluster was configured to: manual replicas, autoscaling, HA."""
    p = view(site)
    return {**pick(p["scaling"], "replicas", "autoscaling"),
            "ha": p["ha"] if p["ha"]["enabled"] else {"enabled": False}}


def targets(site: Site, balancer_keys: list[str]) -> dict[str, tuple[str, int, str]]:
    """(address, port, user) of every node by name, and of each balancer under its key in
    `balancer_keys` (in the order of haproxy.hosts)."""
    p = view(site)
    ssh = p["ssh"]
    out = {n["name"]: (n["address"], n["port"] or ssh["port"], ssh["user"]) for n in p["nodes"]}
    for key, b in zip(balancer_keys, (p["haproxy"] or {}).get("hosts", [])):
        out[key] = (b["host"], b["port"] or ssh["port"], b["user"] or ssh["user"])
    return out
