"""ELMA365 as its own tool reports it: `elma365ctl status` on the main node (`make verify`).

Its output is not documented by the vendor: these parsers read it as the lab simulates it. A line
it does not print is a check `make verify` skips, never one that passed.
"""
from __future__ import annotations

import json
import re
from typing import Optional

STATUS = "$T elma365ctl status"


def parse_elma365ctl_status(text: str) -> dict[str, str]:
    """`elma365ctl status` (undocumented by the vendor; as the lab prints it): `key: value` lines."""
    fields: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep and key.strip() and not key.startswith(" "):
            fields[key.strip().lower()] = value.strip()
    return fields


def parse_ctl_nodes(value: str) -> dict[str, str]:
    """`nodes: elma365-1(up), elma365-2(down)` -> {name: up/down}."""
    return {m.group(1): m.group(2) for m in re.finditer(r"([^\s,()]+)\((\w+)\)", value)}


def parse_ctl_ha(value: str) -> Optional[tuple[bool, Optional[int], Optional[int]]]:
    """`enabled (replicas 3, failover 30s)` / `disabled` -> (enabled, replicas, failover)."""
    return _enabled(value, r"enabled\s*\(replicas (\d+), failover (\d+)s\)")


def parse_ctl_autoscaling(value: str) -> Optional[tuple[bool, Optional[int], Optional[int]]]:
    """`enabled (min 1, max 3)` / `disabled` -> (enabled, min, max)."""
    return _enabled(value, r"enabled\s*\(min (\d+), max (\d+)\)")


def _enabled(value: str, pattern: str) -> Optional[tuple[bool, Optional[int], Optional[int]]]:
    if value.startswith("disabled"):
        return (False, None, None)
    m = re.match(pattern, value)
    return (True, int(m.group(1)), int(m.group(2))) if m else None


def parse_ctl_replicas(value: str) -> Optional[dict[str, int]]:
    """`{"all": 3, "main": 2}` or `default` (nothing scaled)."""
    if value == "default":
        return {}
    try:
        data = json.loads(value)
    except ValueError:
        return None
    return {str(k): int(v) for k, v in data.items()} if isinstance(data, dict) else None


def parse_list(value: str) -> list[str]:
    return [] if value in ("", "none") else [v.strip() for v in value.split(",") if v.strip()]
