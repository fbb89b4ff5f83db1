"""Rules of elma365:kubernetes and the node labels (built with the nodes: site_rules._node);
kubernetes_section returns the builder of the model's Kubernetes."""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .. import model   # the model the rules build (components/model.py imports no rule)
from .core import *  # noqa: F401,F403  (the registry and the value checks)


# ---------------------------------------------------------------- kubernetes (node labels)

KUBERNETES_KEYS = keys_of(model.Kubernetes)
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_PREFIX = re.compile(r"^(?=.{1,253}$)[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
# set by the program from nodes[] (components/kubernetes.py): not settable through a labels map
ROLE_LABEL = "elma365.com/role"
ZONE_LABEL = "topology.kubernetes.io/zone"
RACK_LABEL = "elma365.com/rack"
PROGRAM_LABELS = (ROLE_LABEL, ZONE_LABEL, RACK_LABEL)


def label_key_ok(key: Any) -> bool:
    if not isinstance(key, str):
        return False
    prefix, _, name = key.rpartition("/")
    return bool(LABEL_NAME.match(name)) and (not _ or bool(LABEL_PREFIX.match(prefix)))


def _labels(key: str, labels: Any) -> Iterator[Violation]:
    if labels in (MISSING, None):
        return
    if not isinstance(labels, Mapping):
        yield Violation(key, labels, 'must be an object of Kubernetes labels, e.g. {"elma365.com/pool": "web"}')
        return
    for name, value in labels.items():
        if not label_key_ok(name):
            yield Violation(f"{key}.{name}", value,
                            "the label key must be [prefix/]name: name up to 63 of [A-Za-z0-9-_.], "
                            "prefix a DNS subdomain")
        elif name in PROGRAM_LABELS:
            yield Violation(f"{key}.{name}", value,
                            f"is set by the program (role from the node's position, zone and rack from "
                            f"nodes[].zone / nodes[].rack); the labels map cannot set {', '.join(PROGRAM_LABELS)}")
        if not isinstance(value, str) or not LABEL_VALUE.match(value):
            yield Violation(f"{key}.{name}", value,
                            "the label value must be a string of at most 63 of [A-Za-z0-9-_.], "
                            "starting and ending alphanumeric (or empty)")


@section_rule("kubernetes", KUBERNETES_KEYS)
def kubernetes_section(raw: RawSite, kubernetes: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _bool("kubernetes.enabled", kubernetes.get("enabled", MISSING))
    yield from _labels("kubernetes.labels", kubernetes.get("labels", MISSING))
    return lambda: {"kubernetes": build(model.Kubernetes, **present(kubernetes, "enabled"),
                                        labels=dict(kubernetes.get("labels") or {}))}


@rule
def node_labels(raw: RawSite) -> Iterator[Violation]:
    for i, node in enumerate(_nodes(raw)):
        for field_name in ("zone", "rack"):
            value = node.get(field_name, MISSING)
            if value in (MISSING, None):
                continue
            if not isinstance(value, str) or not value or not LABEL_VALUE.match(value):
                yield Violation(f"nodes[{i}].{field_name}", value,
                                "must be a Kubernetes label value: at most 63 of [A-Za-z0-9-_.], "
                                "starting and ending alphanumeric")
        yield from _labels(f"nodes[{i}].labels", node.get("labels", MISSING))
