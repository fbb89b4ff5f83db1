"""Rules the policy pack runs over what the program registers: production runs HA (policy-only), and
HAProxy in front of every node (the program refuses a site without it itself)."""
from __future__ import annotations

import re
from typing import Any, Iterable, Iterator, Mapping

from .core import *  # noqa: F401,F403  (the registry and the value checks)


# haproxy_required is registered with @rule (the program refuses such a site itself);
# production_runs_ha needs the policy's stack-name pattern, and the HAProxy server lines exist only in
# what was registered.

SHAPE_SECTIONS = ("nodes", "scaling", "ha", "haproxy")
HAPROXY_SERVER = re.compile(r"^\s*server\s+(?P<name>\S+)\s+(?P<address>\S+)(?P<options>[^#]*)")


def from_public_view(props: Mapping[str, Any]) -> RawSite:
    """The raw config shape of the cluster-shape sections, from Site.public_view() as recorded on the
    Elma365Cluster component (what a policy sees: numbers as floats, absent values as null).

    Only nodes, scaling, ha and haproxy come back: the public view leaves the secrets out, so ssh and
    install are not the config's shape and their rules do not apply to it."""
    from collections.abc import Sequence  # the policy SDK hands lists over as Sequence proxies

    def plain(value: Any) -> Any:
        if isinstance(value, Mapping):
            return {str(k): plain(v) for k, v in value.items() if v is not None}
        if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
            return [plain(v) for v in value]
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    values: dict[str, Any] = {}
    for section in SHAPE_SECTIONS:
        value = props.get(section)
        if value is not None:
            values[section] = plain(value)
    scaling = values.get("scaling")
    if isinstance(scaling, dict) and scaling.get("replicas") == {}:
        del scaling["replicas"]  # the public view writes "no manual scaling" as {}
    return RawSite(values)


@rule  # the program refuses such a site too: the manual puts HAProxy in front of every cluster
def haproxy_required(raw: RawSite) -> Iterator[Violation]:
    count = len(_nodes(raw))
    if count >= 2 and raw.get("haproxy") in (MISSING, None):
        yield Violation("haproxy", MISSING,
                        f"is required when the site has 2 or more nodes (it has {count}): HAProxy in front of every node")


def production_runs_ha(raw: RawSite, stack: str, pattern: str) -> Iterator[Violation]:
    if not re.search(pattern, stack):
        return
    ha = raw.get("ha")
    enabled = ha.get("enabled", MISSING) if isinstance(ha, Mapping) else MISSING
    if enabled is not True:
        yield Violation("ha.enabled", enabled,
                        f"must be true on a production stack (stack {stack!r} matches {pattern!r})")


def haproxy_servers(config_text: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The `server <name> <address> <options...>` lines of an HAProxy config, comments left out."""
    servers = []
    for line in config_text.splitlines():
        match = HAPROXY_SERVER.match(line)
        if match:
            servers.append((match.group("name"), match.group("address"), tuple(match.group("options").split())))
    return servers


def haproxy_lists_every_node(node_names: Iterable[str], config_text: str) -> Iterator[Violation]:
    listed = {name for name, _, _ in haproxy_servers(config_text)}
    for i, name in enumerate(node_names):
        if name not in listed:
            yield Violation(f"nodes[{i}].name", name,
                            "has no `server` line in the HAProxy config: the load balancer must front every node")
