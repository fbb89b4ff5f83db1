"""Scripts as files: `components/scripts/<name>` filled by name, every value quoted for the script's language.

A placeholder is `{{name}}` (letters, digits, `_`). Filling is strict both ways: a placeholder with no
value, or a value the script never uses, is an error, so a typo cannot ship an empty word. A value is
quoted for the file's language (`.sh`: POSIX shell, `.exp`: Tcl); a fragment this program rendered
itself (another script's text, a fixed snippet) goes in as `Raw(...)`, verbatim, and says so at the
call site.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Union

from .shell import q

SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Raw:
    """Text inserted as it is: only for what this program rendered itself, never for a site's value."""
    text: str


Value = Union[str, int, Raw]


def tcl_quote(text: str) -> str:
    """A Tcl word that is exactly `text`: braces when they hold it literally, else backslash escapes."""
    if text and re.fullmatch(r"[A-Za-z0-9_./:@%+=,-]+", text):
        return text
    if "\\" not in text and "\n" not in text and _balanced(text) and not text.endswith("\\"):
        return "{" + text + "}"
    return '"' + re.sub(r'([\\"$\[\]{}])', r"\\\1", text).replace("\n", "\\n") + '"'


def _balanced(text: str) -> bool:
    depth = 0
    for c in text:
        depth += {"{": 1, "}": -1}.get(c, 0)
        if depth < 0:
            return False
    return depth == 0


QUOTERS = {".sh": q, ".exp": tcl_quote}


def placeholders(text: str) -> set[str]:
    return set(PLACEHOLDER.findall(text))


def fill_text(text: str, values: dict[str, Value], *, quote=q, name: str = "script") -> str:
    wanted = placeholders(text)
    missing = sorted(wanted - values.keys())
    unused = sorted(values.keys() - wanted)
    if missing:
        raise TemplateError(f"{name}: no value for placeholder(s) {', '.join(missing)}")
    if unused:
        raise TemplateError(f"{name}: value(s) given for no placeholder: {', '.join(unused)}")

    def one(match: re.Match) -> str:
        value = values[match.group(1)]
        if isinstance(value, Raw):
            return value.text
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TemplateError(f"{name}: {match.group(1)} must be text, a whole number or Raw, "
                                f"not {type(value).__name__}")
        return quote(str(value))

    return PLACEHOLDER.sub(one, text)


def fill(script: str, **values: Value) -> str:
    """`components/scripts/<script>` with its placeholders filled (see the module's doc)."""
    path = SCRIPTS / script
    quote = QUOTERS.get(path.suffix)
    if quote is None:
        raise TemplateError(f"{script}: unknown script language (known: {', '.join(QUOTERS)})")
    return fill_text(path.read_text(), values, quote=quote, name=script)
