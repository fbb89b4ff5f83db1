"""How a field of the site model (components/model.py) declares its config key: the bottom of the
model's import chain (keys -> model -> rules -> site, the front door), importing nothing of the program.

A field's key is its name in camelCase, unless the field says otherwise (`key=`, where the config's
shape differs from the model's); its default, when it has one, is given at the field with `setting`,
so the model is the one place that states it (rules/defaults.py collects them into a table).
"""
from __future__ import annotations

import dataclasses
import re
from typing import Any, Optional

KEY = "elma365.key"              # metadata: the field's config key, where it is not its name in camelCase
OFF_ONLY = "elma365.off-only"    # metadata: the default holds only while the section is off (else required)
DERIVED = "elma365.derived"      # metadata: no key of its own, built from another key (haproxy.virtualIp)
PRIVATE = "elma365.private"      # metadata: left out of the public view (the component's inputs)


def camel(name: str) -> str:
    return re.sub(r"_(.)", lambda m: m.group(1).upper(), name)


def key_of(f: dataclasses.Field) -> str:
    """The config key of a model field."""
    return f.metadata.get(KEY) or camel(f.name)


def keys_of(cls: type, *shape: str) -> tuple[str, ...]:
    """The config keys of a model class's object, in the order its fields declare them, then the keys
    `shape` the config has there beyond the model's fields (another spelling of the same values)."""
    return tuple(key_of(f) for f in dataclasses.fields(cls) if not f.metadata.get(DERIVED)) + shape


def is_public(f: dataclasses.Field) -> bool:
    """Whether the field is in the public view (components/site_view.public_view); a secret never is."""
    return not f.metadata.get(PRIVATE) and "Secret" not in str(f.type)


def setting(default: Any = dataclasses.MISSING, *, key: Optional[str] = None, off_only: bool = False,
            derived: bool = False, public: bool = True, factory: Any = dataclasses.MISSING) -> Any:
    """A model field with its default (or `factory`), its config key where it is not the camelCase of
    its name, `off_only`: a default that holds only while its section is switched off (the rules
    require the key when it is on, so the reference states no default for it), and `derived`: the
    field has no key of its own (the rules build it from another key), and `public=False`: left out
    of the public view (the component's inputs, which the policy pack reads)."""
    metadata = {**({KEY: key} if key else {}), **({OFF_ONLY: True} if off_only else {}),
                **({DERIVED: True} if derived else {}), **({} if public else {PRIVATE: True})}
    if factory is not dataclasses.MISSING:   # a mapping: not hashed (a frozen model stays hashable)
        return dataclasses.field(default_factory=factory, hash=False, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)
