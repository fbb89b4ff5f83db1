"""One table of defaults (components/rules/defaults.py), collected from the model's fields; every
default the config reference (docs/configuration.md) states is the table's, and the reference has a
row for every key the model declares."""
from __future__ import annotations

import dataclasses
import json
import re
import typing
from typing import Any, Iterator

from components import model
from components.keys import DERIVED, key_of

from components.rules import DEFAULTS, HAPROXY_KEYS
from components.site import parse_site
from tests.mock_runtime import ROOT_DIR
from tests.sites import SECRET_KEYS, example

REFERENCE = ROOT_DIR / "docs" / "configuration.md"
ROW = re.compile(r"^\| `(?P<key>[A-Za-z.\[\]]+)` \| (?P<default>[^|]*) \|")


def stated(text: str) -> dict[str, str]:
    """`key -> default column` of the config tables' one-key rows."""
    return {m["key"]: m["default"].strip() for m in map(ROW.match, text.splitlines()) if m}


def shown(value: Any) -> str:
    """How the reference writes a default: as the stack file would."""
    return f"`{json.dumps(list(value)) if isinstance(value, tuple) else str(value).lower() if isinstance(value, bool) else value}`"


def test_every_default_the_docs_state_is_the_tables():
    docs = stated(REFERENCE.read_text())
    checked = {key: column for key, column in docs.items() if key in DEFAULTS}
    assert len(checked) >= 30
    assert {key: column for key, column in checked.items() if column != shown(DEFAULTS[key])} == {}
    # and a key the docs state a default for that is not in the table would be a second source
    assert [k for k, column in docs.items() if column.startswith("`") and k not in DEFAULTS
            and not k.startswith("nodes[]") and column not in ("`[]`", "`address`")] == []


def test_the_site_model_takes_its_defaults_from_the_table():
    values = example()
    del values["haproxy"]["bind"]
    site = parse_site(values, SECRET_KEYS)
    assert (site.ssh.user, site.install.edition, site.install.timeout_minutes) == (
        DEFAULTS["ssh.user"], DEFAULTS["install.edition"], DEFAULTS["install.timeoutMinutes"])
    assert site.haproxy.bind == DEFAULTS["haproxy.bind"]
    assert site.haproxy.timeouts.tunnel == DEFAULTS["haproxy.timeouts.tunnel"]
    assert site.preflight.min_memory_gib == DEFAULTS["preflight.minMemoryGiB"]


def model_keys(cls: type = model.Site, path: str = "") -> Iterator[str]:
    """Every config key the model declares, by its path (a list's entries as `key[]`)."""
    hints = typing.get_type_hints(cls, vars(model))
    for f in dataclasses.fields(cls):
        if f.metadata.get(DERIVED):
            continue
        key = f"{path}.{key_of(f)}".lstrip(".")
        hint = hints[f.name]
        listed = typing.get_origin(hint) is tuple
        inner = [t for t in typing.get_args(hint) or (hint,) if dataclasses.is_dataclass(t)]
        if inner:
            yield from model_keys(inner[0], key + ("[]" if listed else ""))
        else:
            yield key + ("[]" if listed else "")


def documented() -> set[str]:
    """The keys the reference's rows name (a row may name several, and `x[]` names x's entries)."""
    cells = (m[1] for m in map(re.compile(r"^\| (`[^|]*`) \|").match, REFERENCE.read_text().splitlines()) if m)
    return {key for cell in cells for key in re.findall(r"`([^`]+)`", cell)}


def test_the_reference_has_a_row_for_every_key_of_the_model_and_no_other():
    rows = {key.replace("[]", "") for key in documented()}
    keys = {key.replace("[]", "") for key in model_keys()}
    # a key inside an object the reference describes in one row ({host, port, user, hostKey}) counts
    assert sorted(k for k in keys if k not in rows and k.rsplit(".", 1)[0] not in rows) == []
    # a row is a key, an object of keys, or the config's own shape of the model's values
    shape = {f"haproxy.{k}" for k in HAPROXY_KEYS} - keys
    assert sorted(r for r in rows - keys - shape if not any(k.startswith(r + ".") for k in keys)) == []
