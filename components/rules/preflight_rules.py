"""Rules of elma365:preflight; preflight_section returns the builder of the model's Preflight."""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .. import model   # the model the rules build (components/model.py imports no rule)
from .core import *  # noqa: F401,F403  (the registry and the value checks)


# ---------------------------------------------------------------- preflight

PREFLIGHT_KEYS = keys_of(model.Preflight)
# "<ID>" or "<ID>:<VERSION_ID>" of /etc/os-release, e.g. "ubuntu:22.04", "debian:12", "astra"
OS_ENTRY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}(:[0-9A-Za-z][0-9A-Za-z._-]{0,31})?$")


@section_rule("preflight", PREFLIGHT_KEYS)
def preflight_section(raw: RawSite, preflight: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _bool("preflight.enabled", preflight.get("enabled", MISSING))
    yield from _number("preflight.minCpuCores", preflight.get("minCpuCores", MISSING), 1, 1024, whole=True)
    yield from _number("preflight.minMemoryGiB", preflight.get("minMemoryGiB", MISSING), 0.5, 65536)
    yield from _number("preflight.minFreeDiskGiB", preflight.get("minFreeDiskGiB", MISSING), 0, 1048576)
    yield from _number("preflight.maxClockOffsetMs", preflight.get("maxClockOffsetMs", MISSING), 1, 60000, whole=True)
    yield from _number("preflight.portTimeoutSeconds", preflight.get("portTimeoutSeconds", MISSING), 1, 30, whole=True)
    yield from _pattern("preflight.diskPath", preflight.get("diskPath", MISSING), ABSOLUTE_PATH,
                        "an absolute path (where MicroK8s and ELMA365 keep their data, e.g. /var/snap)")
    supported = preflight.get("supportedOs", MISSING)
    if supported is MISSING:
        return lambda: {"preflight": _preflight(preflight)}
    if not isinstance(supported, list) or not supported:
        yield Violation("preflight.supportedOs", supported,
                        'must be a non-empty list such as ["ubuntu:22.04", "debian:12"] (ID[:VERSION_ID] of /etc/os-release)')
        return
    for i, entry in enumerate(supported):
        yield from _pattern(f"preflight.supportedOs[{i}]", entry, OS_ENTRY,
                            'ID or ID:VERSION_ID of /etc/os-release in lower case, e.g. "ubuntu:22.04"')
    return lambda: {"preflight": _preflight(preflight)}


def _preflight(preflight: Mapping[str, Any]) -> Any:
    given = present(preflight, *PREFLIGHT_KEYS)
    if "supportedOs" in given:
        given["supportedOs"] = tuple(given["supportedOs"])
    return build(model.Preflight, **given)
