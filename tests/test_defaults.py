"""One table of defaults (components/rules/defaults.py): the dataclasses take theirs from it, and
every default the README's config reference, docs/haproxy.md or docs/certificates.md states is the table's."""
from __future__ import annotations

import re
from typing import Any

from components.rules import DEFAULTS
from components.site import parse_site
from tests.mock_runtime import ROOT_DIR
from tests.sites import SECRET_KEYS, example

ROW = re.compile(r"^\| `(?P<key>[A-Za-z.\[\]]+)` \| (?P<default>[^|]*) \|")


def stated(text: str, prefix: str = "") -> dict[str, str]:
    """`key -> default column` of the config tables' one-key rows."""
    return {prefix + m["key"]: m["default"].strip() for m in map(ROW.match, text.splitlines()) if m}


def shown(value: Any) -> str:
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def test_every_default_the_docs_state_is_the_tables():
    docs = stated((ROOT_DIR / "README.md").read_text())
    docs |= stated((ROOT_DIR / "docs" / "haproxy.md").read_text(), prefix="haproxy.")
    docs |= stated((ROOT_DIR / "docs" / "certificates.md").read_text())
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
