"""Every default of the site config, in one table, as the model declares them at its fields
(components/model.py: `setting(...)`): the program, `make verify` and the policy pack read the model,
the rules and the config reference (docs/configuration.md) state them too (tests/test_defaults.py
checks every default it states against this table).

A key absent here has no default: it is optional (none) or required, as its rule says.
"""
from __future__ import annotations

import dataclasses
import typing
from typing import Any, Iterator

from .. import model
from ..keys import OFF_ONLY, key_of


def _sections(cls: type, path: str = "") -> Iterator[tuple[str, dataclasses.Field]]:
    """(key path, field) of every field of `cls` and of the config objects below it."""
    hints = typing.get_type_hints(cls, vars(model))
    for f in dataclasses.fields(cls):
        key = f"{path}.{key_of(f)}".lstrip(".")
        yield key, f
        inner = [t for t in typing.get_args(hints[f.name]) or (hints[f.name],) if dataclasses.is_dataclass(t)]
        if inner and typing.get_origin(hints[f.name]) is not tuple:   # an object, not a list of them
            yield from _sections(inner[0], key)


def _defaults(off_only: bool) -> dict[str, Any]:
    return {key: f.default for key, f in _sections(model.Site)
            if f.default is not dataclasses.MISSING and f.default is not None and f.default != ()
            and not dataclasses.is_dataclass(f.default) and bool(f.metadata.get(OFF_ONLY)) is off_only}


DEFAULTS: dict[str, Any] = _defaults(off_only=False)

# What the model holds for a key that is required only while its section is on (the HA keys while
# HA is enabled: docs/configuration.md states no default for them), and
# holds these while it is off (what the component's inputs and the outputs show then).
WHILE_OFF: dict[str, Any] = _defaults(off_only=True)
