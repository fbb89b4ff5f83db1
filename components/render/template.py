"""Scripts as files: `components/scripts/<name>` filled by name, every value quoted for the script's language.

A placeholder is `{{name}}` (letters, digits, `_`). Filling is strict both ways: a placeholder with no
value, or a value the script never uses, is an error, so a typo cannot ship an empty word. A value is
quoted for the file's language (`.sh`: POSIX shell, `.exp`: Tcl); a list or tuple is that many words,
each quoted, one space apart. A value inside a quoted string of the script (a name or a phrase in a
message) goes in as `Text(...)`: verbatim, and only if it holds nothing special inside a quoted string
of either language (letters, digits, spaces and `_@:,./()+-`), else an error. A fragment this program rendered
itself (another script's text, a fixed snippet) goes in as `Raw(...)`, verbatim, and says so at the
call site. A value the script uses both ways (a word of a command and the same name in a message)
goes in once, as `name=Both(value)`: `{{name}}` is its quoted word, `{{name_text}}` its `Text`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from shlex import quote as q
from typing import Union


SCRIPTS = Path(__file__).resolve().parent.parent / "scripts"
PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}")


class TemplateError(ValueError):
    pass


@dataclass(frozen=True)
class Raw:
    """Text inserted as it is: only for what this program rendered itself, never for a site's value."""
    text: str


@dataclass(frozen=True)
class Text:
    """A value inside a quoted string of the script: verbatim, holding nothing special there."""
    text: str


@dataclass(frozen=True)
class Both:
    """A value the script uses as a word (`{{name}}`, quoted) and inside a quoted string
    (`{{name_text}}`, as Text): given once, each form used (strict, as every value)."""
    value: Union[str, int]


PLAIN_TEXT = re.compile(r"[A-Za-z0-9 _@:,./()+-]+")
Value = Union[str, int, Raw, Text, Both, list, tuple]


def _forms(values: dict[str, Value]) -> dict[str, Value]:
    """Each Both as its two values, `name` and `name_text`."""
    out: dict[str, Value] = {}
    for key, value in values.items():
        if isinstance(value, Both):
            out[key], out[f"{key}_text"] = value.value, Text(str(value.value))
        else:
            out[key] = value
    return out


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
    values = _forms(values)
    wanted = placeholders(text)
    missing = sorted(wanted - values.keys())
    unused = sorted(values.keys() - wanted)
    if missing:
        raise TemplateError(f"{name}: no value for placeholder(s) {', '.join(missing)}")
    if unused:
        raise TemplateError(f"{name}: value(s) given for no placeholder: {', '.join(unused)}")

    def word(key: str, value) -> str:
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise TemplateError(f"{name}: {key} must be text, a whole number, a list of them, Text or Raw, "
                                f"not {type(value).__name__}")
        return quote(str(value))

    def one(match: re.Match) -> str:
        key = match.group(1)
        value = values[key]
        if isinstance(value, Raw):
            return value.text
        if isinstance(value, Text):
            if not PLAIN_TEXT.fullmatch(value.text):
                raise TemplateError(f"{name}: {key} is not plain text: {value.text!r}")
            return value.text
        if isinstance(value, (list, tuple)):
            return " ".join(word(key, item) for item in value)
        return word(key, value)

    return PLACEHOLDER.sub(one, text)


def fill(script: str, **values: Value) -> str:
    """`components/scripts/<script>` with its placeholders filled (see the module's doc), without the
    file's last newline: the text is a piece of the command the caller puts together."""
    path = SCRIPTS / script
    quote = QUOTERS.get(path.suffix)
    if quote is None:
        raise TemplateError(f"{script}: unknown script language (known: {', '.join(QUOTERS)})")
    text = path.read_text()
    return fill_text(text[:-1] if text.endswith("\n") else text, values, quote=quote, name=script)
