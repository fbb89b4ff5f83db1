"""What every rule is made of: Violation, the raw site, the rule registry (the one walk over the
config), how a rule builds its part of the model, and value checks."""
from __future__ import annotations

import dataclasses
import functools
import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Generator, Iterable, Iterator, Mapping, Optional, TypeVar

from .. import model
from ..keys import key_of, keys_of  # how a model field is named in the config

CONFIG_NAMESPACE = "elma365"
TOP_LEVEL_KEYS = keys_of(model.Site)
EXTERNAL_SERVICES = ("postgresql", "mongodb", "s3", "redis", "rabbitmq")
MISSING = object()


class Shown(str):
    """A placeholder printed as is, in place of a value that must not be printed."""


SECRET_SHOWN = Shown("[secret]")
PLAINTEXT = Shown("(plaintext)")

# Strict patterns: values that fail them are rejected outright, never quoted into a command (the
# patterns of one section's values sit with its rules).
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
SSH_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
HOST_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$")
ABSOLUTE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
BIND = re.compile(r"^(\*|[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$")
PRIVATE_KEY = re.compile(r"^-----BEGIN [A-Z ]*PRIVATE KEY-----")


@dataclass(frozen=True)
class Violation:
    key: str  # dotted path below the namespace, e.g. "ha.replicas"
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{CONFIG_NAMESPACE}:{self.key} = {show(self.value)}: {self.rule}"


def show(value: Any) -> str:
    if value is MISSING:
        return "(missing)"
    if isinstance(value, Shown):
        return str(value)
    text = json.dumps(value, sort_keys=True, default=str)
    return text if len(text) <= 80 else text[:77] + "..."


@dataclass(frozen=True)
class RawSite:
    """The raw config values, as Pulumi hands them over, and which top-level keys are secret."""

    values: Mapping[str, Any]
    secret_keys: frozenset[str] = frozenset()

    def get(self, key: str) -> Any:
        return self.values.get(key, MISSING)


# A rule yields the violations of its part of the config and returns what builds that part of the
# model from the values it checked (Site fields by name), or None: the builders run only once every
# rule has run and found nothing, so nothing is built from a half-valid config.
Part = Callable[[], dict[str, Any]]
Rule = Callable[[RawSite], Generator[Violation, None, Optional[Part]]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


ValueRule = Callable[[RawSite, Any], Generator[Violation, None, Optional[Part]]]


def config_rule(name: str, *, required: Optional[str] = None) -> Callable[[ValueRule], Rule]:
    """A rule of the top-level config value `name`, given that value when it is set; unset (absent
    or null), it breaks the rule `required` if that is given, and has no part to check or build."""
    def register(check: ValueRule) -> Rule:
        @functools.wraps(check)
        def on_value(raw: RawSite) -> Generator[Violation, None, Optional[Part]]:
            value = raw.get(name)
            if value is MISSING or value is None:
                if required:
                    yield Violation(name, MISSING, required)
                return None
            return (yield from check(raw, value))
        return rule(on_value)
    return register


def section_rule(name: str, known: tuple[str, ...], *, hide_when_secret: bool = False) -> Callable[[ValueRule], Rule]:
    """A rule of the config object `name`, given it as an object with its unknown keys reported
    (their values hidden, with `hide_when_secret`, where the section is a secret); one that is not
    an object is sections_are_objects' to report."""
    def register(check: ValueRule) -> Rule:
        def on_section(raw: RawSite, section: Any) -> Generator[Violation, None, Optional[Part]]:
            if not isinstance(section, Mapping):
                return None
            yield from _unknown_keys(name, section, known, secret=hide_when_secret and name in raw.secret_keys)
            return (yield from check(raw, section))
        return config_rule(name)(functools.wraps(check)(on_section))
    return register


def parse(raw: RawSite) -> tuple[list[Violation], dict[str, Any]]:
    """The one walk over the config: every rule, in order; the violations, and when there are none
    the Site's fields the rules built."""
    parts: list[Part] = []

    def run() -> Iterator[Violation]:
        for each in RULES:
            part = yield from each(raw)
            if part is not None:
                parts.append(part)

    found = list(run())
    return found, {} if found else {name: value for part in parts for name, value in part().items()}


# ---------------------------------------------------------------- building the model

T = TypeVar("T")


def build(cls: type[T], **by_key: Any) -> T:
    """A model dataclass from values named by their config keys: one not given (or MISSING) keeps
    the field's default, which is the table's (defaults.py)."""
    names = {key_of(f): f.name for f in dataclasses.fields(cls)}
    return cls(**{names[key]: value for key, value in by_key.items() if value is not MISSING})


def built(cls: type[T], section: Mapping[str, Any], **by_key: Any) -> T:
    """A model dataclass from a config object the rules checked: each of its keys that is set, and
    `by_key` where the rule builds a value itself."""
    return build(cls, **{**present(section, *keys_of(cls)), **by_key})


def present(mapping: Any, *keys: str) -> dict[str, Any]:
    """The values `mapping` gives for `keys`, by key: an absent or null one is left out (its default holds)."""
    return {key: mapping[key] for key in keys if mapping.get(key) is not None}


# ---------------------------------------------------------------- value helpers

def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _nodes(raw: RawSite) -> list[Mapping[str, Any]]:
    value = raw.get("nodes")
    if not isinstance(value, list):
        return []
    return [n for n in value if isinstance(n, Mapping)]


def _port(key: str, value: Any) -> Iterator[Violation]:
    if value is MISSING or value is None:
        return
    if not is_int(value) or not 1 <= value <= 65535:
        yield Violation(key, value, "must be a port number between 1 and 65535")


def _bool(key: str, value: Any) -> Iterator[Violation]:
    if value is not MISSING and value is not None and not isinstance(value, bool):
        yield Violation(key, value, "must be true or false")


def _address(key: str, value: Any) -> Iterator[Violation]:
    if value is MISSING or value is None:
        return
    if isinstance(value, str):
        try:
            ipaddress.ip_address(value)
            return
        except ValueError:
            if HOSTNAME.match(value) and not value.replace(".", "").isdigit():
                return
    yield Violation(key, value, "must be an IPv4/IPv6 address or a DNS host name")


def _pattern(key: str, value: Any, pattern: re.Pattern[str], what: str) -> Iterator[Violation]:
    if value is MISSING or value is None:
        return
    if not isinstance(value, str) or not pattern.match(value):
        yield Violation(key, value, f"must be {what}")


def _host_key(key: str, value: Any) -> Iterator[Violation]:
    """A host key to pin: a public key line of a type the SSH client verifies with a modern signature."""
    if value is MISSING or value is None:
        return
    if isinstance(value, str) and value.startswith("ssh-rsa "):
        # a pinned ssh-rsa key makes the client ask for SHA-1 "ssh-rsa" signatures, refused by OpenSSH 8.8+
        yield Violation(key, value, "ssh-rsa host keys are checked with SHA-1 signatures, which OpenSSH 8.8 and "
                                    "later refuse: pin the server's ssh-ed25519 key instead "
                                    "(ssh-keyscan -t ed25519 <host>, or make hostkeys)")
        return
    yield from _pattern(key, value, HOST_KEY, "an SSH public host key line, e.g. 'ssh-ed25519 AAAA...'")


def _ssh_server(key: str, entry: Mapping[str, Any], missing_host: str) -> Iterator[Violation]:
    """A server the program logs into besides the nodes (the load balancer, the bastion): its host,
    port, login name and pinned host key."""
    if entry.get("host") in (None, ""):
        yield Violation(f"{key}.host", MISSING, missing_host)
    yield from _address(f"{key}.host", entry.get("host", MISSING))
    yield from _port(f"{key}.port", entry.get("port", MISSING))
    yield from _pattern(f"{key}.user", entry.get("user", MISSING), SSH_USER, "a plain login name")
    yield from _host_key(f"{key}.hostKey", entry.get("hostKey", MISSING))


def _unknown_keys(key: str, value: Any, known: Iterable[str], *, secret: bool = False) -> Iterator[Violation]:
    if isinstance(value, Mapping):
        for name in value:
            if name not in known:
                yield Violation(f"{key}.{name}" if key else str(name), SECRET_SHOWN if secret else value[name],
                                f"unknown key (known: {', '.join(known)})")


def _objects(key: str, items: list[Any], known: tuple[str, ...], not_an_object: str,
             check: Callable[[str, int, Mapping[str, Any]], Iterator[Violation]], *,
             secret: bool = False) -> Iterator[Violation]:
    """Each entry of the config list `key` that must be an object, as `key[i]`: its unknown keys,
    then `check(key[i], i, entry)`; an entry that is no object breaks the rule `not_an_object`."""
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            yield Violation(f"{key}[{i}]", item, not_an_object)
            continue
        yield from _unknown_keys(f"{key}[{i}]", item, known, secret=secret)
        yield from check(f"{key}[{i}]", i, item)


def _number(key: str, value: Any, low: float, high: float, *, whole: bool = False) -> Iterator[Violation]:
    if value is MISSING:
        return
    ok_type = is_int(value) if whole else (is_int(value) or isinstance(value, float))
    if not ok_type or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        shown = [str(int(x)) if float(x).is_integer() else str(x) for x in (low, high)]
        yield Violation(key, value, f"must be {kind} between {shown[0]} and {shown[1]}")


# the helpers are shared by the rule modules of this package
__all__ = ['Part', 'build', 'built', 'key_of', 'keys_of', 'config_rule', 'parse', 'present', 'ABSOLUTE_PATH', 'BIND', 'EXTERNAL_SERVICES', 'HOSTNAME', 'HOST_KEY', 'MISSING', 'CONFIG_NAMESPACE', 'PLAINTEXT', 'PRIVATE_KEY', 'RULES', 'RawSite', 'Rule', 'SECRET_SHOWN', 'ValueRule', 'SSH_USER', 'Shown', 'TOP_LEVEL_KEYS', 'Violation', '_address', '_bool', '_host_key', '_nodes', '_number', '_objects', '_pattern', '_port', '_ssh_server', '_unknown_keys', 'is_int', 'rule', 'section_rule', 'show']
