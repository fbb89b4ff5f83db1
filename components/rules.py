"""The site config's rules, as pure functions over the raw `elma365:*` config values.

One source of truth: the program runs them before any resource exists (site.parse_site), and
the policy pack runs the same functions over the component's recorded inputs. Each rule yields
Violations that name the config key, the bad value and the rule, so an operator can fix every
problem of a site config in one pass.
"""
from __future__ import annotations

import ipaddress
import json
import re
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping

NAMESPACE = "elma365"
TOP_LEVEL_KEYS = ("ssh", "nodes", "install", "scaling", "ha", "haproxy", "preflight", "kubernetes")
EXTERNAL_SERVICES = ("postgresql", "mongodb", "s3", "redis", "rabbitmq")
MISSING = object()


class Shown(str):
    """A placeholder printed as is, in place of a value that must not be printed."""


SECRET_SHOWN = Shown("[secret]")
PLAINTEXT = Shown("(plaintext)")

# Strict patterns: values that fail them are rejected outright, never quoted into a command.
NODE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
HOSTNAME = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$"
)
SSH_USER = re.compile(r"^[a-z_][a-z0-9_.-]{0,31}$")
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
EDITION = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=&?-]*)?$")
HOST_KEY = re.compile(r"^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)) [A-Za-z0-9+/]+={0,3}( [^\n]*)?$")
ABSOLUTE_PATH = re.compile(r"^/[A-Za-z0-9._/-]+$")
BIND = re.compile(r"^(\*|[A-Za-z0-9.-]+|\[[0-9a-fA-F:]+\]):([0-9]{1,5})$")
PRIVATE_KEY = re.compile(r"^-----BEGIN [A-Z ]*PRIVATE KEY-----")
MICROK8S_CHANNEL = re.compile(r"^[0-9a-z.]+(/[a-z]+)?$")


@dataclass(frozen=True)
class Violation:
    key: str  # dotted path below the namespace, e.g. "ha.failoverSeconds"
    value: Any
    rule: str

    def __str__(self) -> str:
        return f"{NAMESPACE}:{self.key} = {show(self.value)}: {self.rule}"


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


Rule = Callable[[RawSite], Iterator[Violation]]
RULES: list[Rule] = []


def rule(fn: Rule) -> Rule:
    RULES.append(fn)
    return fn


def check(raw: RawSite) -> list[Violation]:
    found: list[Violation] = []
    for each in RULES:
        found.extend(each(raw))
    return found


# ---------------------------------------------------------------- value helpers

def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _mapping(raw: RawSite, key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


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


def _unknown_keys(key: str, value: Any, known: Iterable[str], *, secret: bool = False) -> Iterator[Violation]:
    if isinstance(value, Mapping):
        for name in value:
            if name not in known:
                yield Violation(f"{key}.{name}" if key else str(name), SECRET_SHOWN if secret else value[name],
                                f"unknown key (known: {', '.join(known)})")


# ---------------------------------------------------------------- top level

@rule
def known_top_level_keys(raw: RawSite) -> Iterator[Violation]:
    yield from _unknown_keys("", raw.values, TOP_LEVEL_KEYS)


@rule
def sections_are_objects(raw: RawSite) -> Iterator[Violation]:
    for key in ("ssh", "install", "scaling", "ha", "haproxy", "preflight", "kubernetes"):
        value = raw.get(key)
        if value is not MISSING and value is not None and not isinstance(value, Mapping):
            yield Violation(key, SECRET_SHOWN if key in raw.secret_keys else value, "must be an object")


# ---------------------------------------------------------------- ssh

SSH_KEYS = ("user", "port", "privateKey", "privateKeyPassword", "sudo", "bastion")


@rule
def ssh_section(raw: RawSite) -> Iterator[Violation]:
    ssh = raw.get("ssh")
    if ssh is MISSING or ssh is None:
        yield Violation("ssh", MISSING, "is required: at least ssh.privateKey (set it with `pulumi config set --secret --path elma365:ssh.privateKey`)")
        return
    if not isinstance(ssh, Mapping):
        return
    yield from _unknown_keys("ssh", ssh, SSH_KEYS, secret=True)
    yield from _pattern("ssh.user", ssh.get("user", MISSING), SSH_USER, "a plain login name ([a-z_][a-z0-9_.-]*)")
    yield from _port("ssh.port", ssh.get("port", MISSING))
    yield from _bool("ssh.sudo", ssh.get("sudo", MISSING))
    key = ssh.get("privateKey", MISSING)
    if key is MISSING or key in (None, ""):
        yield Violation("ssh.privateKey", MISSING, "is required (the SSH private key, as a secret)")
    elif not isinstance(key, str) or not PRIVATE_KEY.match(key.strip()):
        yield Violation("ssh.privateKey", SECRET_SHOWN, "must be a PEM/OpenSSH private key (-----BEGIN ... PRIVATE KEY-----)")
    if key not in (MISSING, None, "") and "ssh" not in raw.secret_keys:
        yield Violation("ssh.privateKey", PLAINTEXT, "must be a secret: pulumi config set --secret --path elma365:ssh.privateKey < key")
    password = ssh.get("privateKeyPassword", MISSING)
    if password not in (MISSING, None) and "ssh" not in raw.secret_keys:
        yield Violation("ssh.privateKeyPassword", PLAINTEXT, "must be a secret: pulumi config set --secret --path elma365:ssh.privateKeyPassword")
    bastion = ssh.get("bastion", MISSING)
    if bastion not in (MISSING, None):
        if not isinstance(bastion, Mapping):
            yield Violation("ssh.bastion", bastion, "must be an object with host, port, user")
        else:
            yield from _unknown_keys("ssh.bastion", bastion, ("host", "port", "user"))
            if bastion.get("host") in (None, ""):
                yield Violation("ssh.bastion.host", MISSING, "is required when ssh.bastion is set")
            yield from _address("ssh.bastion.host", bastion.get("host", MISSING))
            yield from _port("ssh.bastion.port", bastion.get("port", MISSING))
            yield from _pattern("ssh.bastion.user", bastion.get("user", MISSING), SSH_USER, "a plain login name")


# ---------------------------------------------------------------- nodes

NODE_KEYS = ("name", "address", "clusterAddress", "port", "hostKey", "zone", "rack", "labels")


@rule
def nodes_list(raw: RawSite) -> Iterator[Violation]:
    nodes = raw.get("nodes")
    if nodes is MISSING or nodes is None:
        yield Violation("nodes", MISSING, "is required: a list of {name, address}; the first node is the main node")
        return
    if not isinstance(nodes, list) or not nodes:
        yield Violation("nodes", nodes, "must be a non-empty list of {name, address}")
        return
    for i, node in enumerate(nodes):
        key = f"nodes[{i}]"
        if not isinstance(node, Mapping):
            yield Violation(key, node, "must be an object with name and address")
            continue
        yield from _unknown_keys(key, node, NODE_KEYS)
        if node.get("name") in (None, ""):
            yield Violation(f"{key}.name", MISSING, "is required")
        else:
            yield from _pattern(f"{key}.name", node["name"], NODE_NAME,
                                "a host name label: lower-case letters, digits and '-', at most 63")
        if node.get("address") in (None, ""):
            yield Violation(f"{key}.address", MISSING, "is required (what SSH connects to)")
        else:
            yield from _address(f"{key}.address", node["address"])
        yield from _address(f"{key}.clusterAddress", node.get("clusterAddress", MISSING))
        yield from _port(f"{key}.port", node.get("port", MISSING))
        yield from _pattern(f"{key}.hostKey", node.get("hostKey", MISSING), HOST_KEY,
                            "an SSH public host key line, e.g. 'ssh-ed25519 AAAA...'")


def _duplicates(values: list[tuple[int, Any]]) -> Iterator[tuple[int, Any]]:
    seen: dict[Any, int] = {}
    for i, value in values:
        if value in seen:
            yield i, value
        else:
            seen[value] = i


@rule
def nodes_unique(raw: RawSite) -> Iterator[Violation]:
    nodes = raw.get("nodes")
    if not isinstance(nodes, list):
        return
    indexed = [(i, n) for i, n in enumerate(nodes) if isinstance(n, Mapping)]
    for field, what in (("name", "node names"), ("address", "node addresses")):
        values = [(i, n.get(field)) for i, n in indexed if isinstance(n.get(field), str)]
        for i, value in _duplicates(values):
            yield Violation(f"nodes[{i}].{field}", value, f"duplicate: {what} must be unique")
    cluster = [(i, n.get("clusterAddress", n.get("address"))) for i, n in indexed
               if isinstance(n.get("clusterAddress", n.get("address")), str)]
    reported = {(i, v) for i, v in _duplicates([(i, n.get("address")) for i, n in indexed if isinstance(n.get("address"), str)])}
    for i, value in _duplicates(cluster):
        if (i, value) not in reported:
            yield Violation(f"nodes[{i}].clusterAddress", value, "duplicate: cluster addresses must be unique")


# ---------------------------------------------------------------- install

INSTALL_KEYS = ("edition", "installerUrl", "microk8sChannel", "externalServices", "answers",
                "questionTimeoutSeconds", "timeoutMinutes")


@rule
def install_section(raw: RawSite) -> Iterator[Violation]:
    install = raw.get("install")
    if not isinstance(install, Mapping):
        return
    yield from _unknown_keys("install", install, INSTALL_KEYS)
    yield from _pattern("install.edition", install.get("edition", MISSING), EDITION, "an edition name such as enterprise")
    yield from _pattern("install.installerUrl", install.get("installerUrl", MISSING), URL, "an http(s) URL")
    yield from _pattern("install.microk8sChannel", install.get("microk8sChannel", MISSING), MICROK8S_CHANNEL,
                        "a snap channel such as 1.28/stable")
    for key, low, high in (("questionTimeoutSeconds", 1, 3600), ("timeoutMinutes", 1, 24 * 60)):
        value = install.get(key, MISSING)
        if value is not MISSING and (not is_int(value) or not low <= value <= high):
            yield Violation(f"install.{key}", value, f"must be a whole number between {low} and {high}")
    services = install.get("externalServices", MISSING)
    if services not in (MISSING, None):
        if not isinstance(services, Mapping):
            yield Violation("install.externalServices", SECRET_SHOWN, "must be an object of connection strings")
        else:
            yield from _unknown_keys("install.externalServices", services, EXTERNAL_SERVICES, secret=True)
            for name, value in services.items():
                if name in EXTERNAL_SERVICES and (not isinstance(value, str) or not value or "\n" in value):
                    yield Violation(f"install.externalServices.{name}", SECRET_SHOWN, "must be a one-line connection string")
            if services and "install" not in raw.secret_keys:
                yield Violation("install.externalServices", PLAINTEXT,
                                "connection strings must be secrets: pulumi config set --secret --path elma365:install.externalServices.<service>")
    answers = install.get("answers", MISSING)
    if answers in (MISSING, None):
        return
    if not isinstance(answers, list):
        yield Violation("install.answers", answers, "must be a list of {prompt, answer}")
        return
    for i, item in enumerate(answers):
        key = f"install.answers[{i}]"
        if not isinstance(item, Mapping):
            yield Violation(key, item, "must be an object {prompt, answer}")
            continue
        yield from _unknown_keys(key, item, ("prompt", "answer"), secret=True)
        prompt = item.get("prompt", MISSING)
        if not isinstance(prompt, str) or not prompt:
            yield Violation(f"{key}.prompt", prompt, "is required: a regular expression matched against the installer's question")
        else:
            try:
                re.compile(prompt)
            except re.error as exc:
                yield Violation(f"{key}.prompt", prompt, f"is not a valid regular expression ({exc})")
        answer = item.get("answer", MISSING)
        if not isinstance(answer, (str, int)) or isinstance(answer, bool) or "\n" in str(answer):
            yield Violation(f"{key}.answer", SECRET_SHOWN if "install" in raw.secret_keys else answer,
                            "is required: one line of text typed at the prompt")


# ---------------------------------------------------------------- scaling

SCALING_KEYS = ("autoscaling", "replicas", "linkerd")


@rule
def scaling_section(raw: RawSite) -> Iterator[Violation]:
    scaling = raw.get("scaling")
    if not isinstance(scaling, Mapping):
        return
    yield from _unknown_keys("scaling", scaling, SCALING_KEYS)
    yield from _bool("scaling.linkerd", scaling.get("linkerd", MISSING))
    auto = scaling.get("autoscaling", MISSING)
    replicas = scaling.get("replicas", MISSING)
    auto_on = False
    if auto not in (MISSING, None):
        if not isinstance(auto, Mapping):
            yield Violation("scaling.autoscaling", auto, "must be an object {enabled, minReplicas, maxReplicas}")
        else:
            yield from _unknown_keys("scaling.autoscaling", auto, ("enabled", "minReplicas", "maxReplicas"))
            enabled = auto.get("enabled", MISSING)
            if not isinstance(enabled, bool):
                yield Violation("scaling.autoscaling.enabled", enabled, "is required: true or false")
            auto_on = enabled is True
            low, high = auto.get("minReplicas", MISSING), auto.get("maxReplicas", MISSING)
            for key, value in (("minReplicas", low), ("maxReplicas", high)):
                if auto_on and value is MISSING:
                    yield Violation(f"scaling.autoscaling.{key}", MISSING, "is required when autoscaling is enabled")
                elif value is not MISSING and (not is_int(value) or value < 1):
                    yield Violation(f"scaling.autoscaling.{key}", value, "must be a whole number >= 1")
            if is_int(low) and is_int(high) and low > high:
                yield Violation("scaling.autoscaling.minReplicas", low, f"must not exceed maxReplicas ({high})")
            if enabled is False and scaling.get("linkerd", True) is False:
                yield Violation("scaling.linkerd", False,
                                "Linkerd must stay enabled when autoscaling is disabled (the manual requires it for fault tolerance)")
    if replicas in (MISSING, None):
        return
    if not isinstance(replicas, Mapping) or not replicas:
        yield Violation("scaling.replicas", replicas, "must be an object such as {all: 3} or {main: 2}")
        return
    if auto_on:
        yield Violation("scaling.replicas", replicas,
                        "manual scaling is not available while autoscaling is enabled (set scaling.autoscaling.enabled: false)")
    for service, count in replicas.items():
        key = f"scaling.replicas.{service}"
        if not isinstance(service, str) or not SERVICE_NAME.match(service):
            yield Violation(key, service, "service names must match [a-z][a-z0-9-]* (e.g. all, main)")
        if not is_int(count) or not 0 <= count <= 100:
            yield Violation(key, count, "must be a whole number of replicas between 0 and 100")


# ---------------------------------------------------------------- high availability

@rule
def ha_section(raw: RawSite) -> Iterator[Violation]:
    ha = raw.get("ha")
    if not isinstance(ha, Mapping):
        return
    yield from _unknown_keys("ha", ha, ("enabled", "replicas", "failoverSeconds"))
    enabled = ha.get("enabled", MISSING)
    if not isinstance(enabled, bool):
        yield Violation("ha.enabled", enabled, "is required: true or false")
    replicas = ha.get("replicas", MISSING)
    failover = ha.get("failoverSeconds", MISSING)
    if enabled is True and replicas is MISSING:
        yield Violation("ha.replicas", MISSING, "is required when HA is enabled (system-service replicas, at least 3)")
    elif replicas is not MISSING and (not is_int(replicas) or replicas < 3):
        yield Violation("ha.replicas", replicas, "must be a whole number >= 3")
    if enabled is True and failover is MISSING:
        yield Violation("ha.failoverSeconds", MISSING, "is required when HA is enabled (between 10 and 300)")
    elif failover is not MISSING and (not is_int(failover) or not 10 <= failover <= 300):
        yield Violation("ha.failoverSeconds", failover, "must be between 10 and 300")
    count = len(_nodes(raw))
    if enabled is True and count < 3:
        yield Violation("ha.enabled", True, f"HA mode needs at least 3 nodes, the site has {count}")


# ---------------------------------------------------------------- haproxy

HAPROXY_KEYS = ("host", "port", "user", "hostKey", "bind", "backendPort", "configPath", "reloadCommand",
                "timeouts", "retries", "redispatch", "healthCheck", "stats", "tls")
HAPROXY_TIMEOUT_KEYS = ("connect", "client", "server", "tunnel", "clientFin", "httpRequest", "httpKeepAlive",
                        "queue", "check")
HAPROXY_HEALTH_KEYS = ("path", "inter", "fall", "rise")
HAPROXY_STATS_KEYS = ("bind", "uri", "user", "password")
HAPROXY_TLS_KEYS = ("bind", "certificate", "certificatePath", "redirectHttp")
HAPROXY_TIME = re.compile(r"^[1-9][0-9]{0,8}(us|ms|s|m|h|d)?$")
HAPROXY_URI = re.compile(r"^/[A-Za-z0-9._~/%-]{0,200}$")
STATS_USER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# printable ASCII without space, quotes, backslash, '#' and '$': safe as a bare HAProxy config word
STATS_PASSWORD = re.compile(r"^[!%&(-\[\]-~]{8,128}$")
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----")
PEM_PRIVATE_KEY = re.compile(PRIVATE_KEY.pattern.lstrip("^"))  # anywhere in a PEM bundle


def _haproxy_bind(key: str, value: Any) -> Iterator[Violation]:
    if value is MISSING:
        return
    match = BIND.match(value) if isinstance(value, str) else None
    if not match or not 1 <= int(match.group(2)) <= 65535:
        yield Violation(key, value, "must be <address>:<port> or *:<port>")


def _haproxy_subsection(raw: RawSite, key: str, value: Any, known: tuple[str, ...]) -> Iterator[Violation]:
    if value is MISSING or value is None:
        return
    if not isinstance(value, Mapping):
        yield Violation(key, SECRET_SHOWN if "haproxy" in raw.secret_keys else value,
                        f"must be an object with any of: {', '.join(known)}")
        return
    yield from _unknown_keys(key, value, known, secret="haproxy" in raw.secret_keys)


def _haproxy_extras(raw: RawSite, haproxy: Mapping[str, Any]) -> Iterator[Violation]:
    timeouts = haproxy.get("timeouts", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.timeouts", timeouts, HAPROXY_TIMEOUT_KEYS)
    if isinstance(timeouts, Mapping):
        for name in HAPROXY_TIMEOUT_KEYS:
            value = timeouts.get(name, MISSING)
            if value is not MISSING and not (is_int(value) and value > 0 or isinstance(value, str) and HAPROXY_TIME.match(value)):
                yield Violation(f"haproxy.timeouts.{name}", value,
                                "must be an HAProxy time such as 500ms, 5s, 1m, 1h (a bare number is milliseconds)")
    retries = haproxy.get("retries", MISSING)
    if retries is not MISSING and (not is_int(retries) or not 0 <= retries <= 10):
        yield Violation("haproxy.retries", retries, "must be a whole number between 0 and 10")
    yield from _bool("haproxy.redispatch", haproxy.get("redispatch", MISSING))
    health = haproxy.get("healthCheck", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.healthCheck", health, HAPROXY_HEALTH_KEYS)
    if isinstance(health, Mapping):
        yield from _pattern("haproxy.healthCheck.path", health.get("path", MISSING), HAPROXY_URI,
                            "a URL path such as / (letters, digits, ._~/%-)")
        inter = health.get("inter", MISSING)
        if inter is not MISSING and not (is_int(inter) and inter > 0 or isinstance(inter, str) and HAPROXY_TIME.match(inter)):
            yield Violation("haproxy.healthCheck.inter", inter, "must be an HAProxy time such as 1s or 500ms")
        for name in ("fall", "rise"):
            value = health.get(name, MISSING)
            if value is not MISSING and (not is_int(value) or not 1 <= value <= 100):
                yield Violation(f"haproxy.healthCheck.{name}", value, "must be a whole number between 1 and 100")
    stats = haproxy.get("stats", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.stats", stats, HAPROXY_STATS_KEYS)
    if isinstance(stats, Mapping):
        if stats.get("bind") in (None, MISSING, ""):
            yield Violation("haproxy.stats.bind", MISSING, "is required when haproxy.stats is set (e.g. 127.0.0.1:8404)")
        else:
            yield from _haproxy_bind("haproxy.stats.bind", stats["bind"])
            if stats["bind"] == haproxy.get("bind", "*:80"):
                yield Violation("haproxy.stats.bind", stats["bind"], "must differ from haproxy.bind (a separate listener)")
        yield from _pattern("haproxy.stats.uri", stats.get("uri", MISSING), HAPROXY_URI, "a URL path such as /")
        user, password = stats.get("user", MISSING), stats.get("password", MISSING)
        if user in (MISSING, None, "") or password in (MISSING, None, ""):
            yield Violation("haproxy.stats", "{user, password}",
                            "needs both user and password (the stats page is never served without credentials)")
        yield from _pattern("haproxy.stats.user", user, STATS_USER, "a plain user name ([A-Za-z0-9._-], at most 64)")
        if password not in (MISSING, None, ""):
            if not isinstance(password, str) or not STATS_PASSWORD.match(password):
                yield Violation("haproxy.stats.password", SECRET_SHOWN,
                                "must be 8 to 128 printable characters without spaces, quotes, backslash, '#' or '$'")
            if "haproxy" not in raw.secret_keys:
                yield Violation("haproxy.stats.password", PLAINTEXT,
                                "must be a secret: pulumi config set --secret --path elma365:haproxy.stats.password")
    tls = haproxy.get("tls", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.tls", tls, HAPROXY_TLS_KEYS)
    if isinstance(tls, Mapping):
        yield from _haproxy_bind("haproxy.tls.bind", tls.get("bind", MISSING))
        yield from _pattern("haproxy.tls.certificatePath", tls.get("certificatePath", MISSING), ABSOLUTE_PATH,
                            "an absolute path")
        if tls.get("certificatePath") == haproxy.get("configPath", "/etc/haproxy/haproxy.cfg"):
            yield Violation("haproxy.tls.certificatePath", tls["certificatePath"], "must differ from haproxy.configPath")
        yield from _bool("haproxy.tls.redirectHttp", tls.get("redirectHttp", MISSING))
        pem = tls.get("certificate", MISSING)
        if pem in (MISSING, None, ""):
            yield Violation("haproxy.tls.certificate", MISSING,
                            "is required when haproxy.tls is set: the PEM with certificate chain and private key, as a secret "
                            "(pulumi config set --secret --path elma365:haproxy.tls.certificate < site.pem)")
        else:
            if not isinstance(pem, str) or not PEM_CERTIFICATE.search(pem) or not PEM_PRIVATE_KEY.search(pem):
                yield Violation("haproxy.tls.certificate", SECRET_SHOWN,
                                "must be a PEM holding the certificate (-----BEGIN CERTIFICATE-----) and its private key")
            if "haproxy" not in raw.secret_keys:
                yield Violation("haproxy.tls.certificate", PLAINTEXT,
                                "must be a secret (it holds the private key): pulumi config set --secret --path "
                                "elma365:haproxy.tls.certificate < site.pem")


@rule
def haproxy_section(raw: RawSite) -> Iterator[Violation]:
    haproxy = raw.get("haproxy")
    if not isinstance(haproxy, Mapping):
        return
    yield from _unknown_keys("haproxy", haproxy, HAPROXY_KEYS, secret="haproxy" in raw.secret_keys)
    if haproxy.get("host") in (None, ""):
        yield Violation("haproxy.host", MISSING, "is required when haproxy is set (the load balancer's SSH address)")
    yield from _address("haproxy.host", haproxy.get("host", MISSING))
    yield from _port("haproxy.port", haproxy.get("port", MISSING))
    yield from _pattern("haproxy.user", haproxy.get("user", MISSING), SSH_USER, "a plain login name")
    yield from _pattern("haproxy.hostKey", haproxy.get("hostKey", MISSING), HOST_KEY, "an SSH public host key line")
    bind = haproxy.get("bind", MISSING)
    if bind is not MISSING:
        match = BIND.match(bind) if isinstance(bind, str) else None
        if not match or not 1 <= int(match.group(2)) <= 65535:
            yield Violation("haproxy.bind", bind, "must be <address>:<port> or *:<port>")
    yield from _port("haproxy.backendPort", haproxy.get("backendPort", MISSING))
    yield from _pattern("haproxy.configPath", haproxy.get("configPath", MISSING), ABSOLUTE_PATH, "an absolute path")
    reload = haproxy.get("reloadCommand", MISSING)
    if reload is not MISSING and (not isinstance(reload, str) or not reload.strip() or "\n" in reload or "\0" in reload):
        yield Violation("haproxy.reloadCommand", reload, "must be a one-line command")
    yield from _haproxy_extras(raw, haproxy)


# ---------------------------------------------------------------- preflight

PREFLIGHT_KEYS = ("enabled", "supportedOs", "minCpuCores", "minMemoryGiB", "minFreeDiskGiB", "diskPath",
                  "maxClockOffsetMs", "portTimeoutSeconds")
# "<ID>" or "<ID>:<VERSION_ID>" of /etc/os-release, e.g. "ubuntu:22.04", "debian:12", "astra"
OS_ENTRY = re.compile(r"^[a-z0-9][a-z0-9._-]{0,31}(:[0-9A-Za-z][0-9A-Za-z._-]{0,31})?$")


def _number(key: str, value: Any, low: float, high: float, *, whole: bool = False) -> Iterator[Violation]:
    if value is MISSING:
        return
    ok_type = is_int(value) if whole else (is_int(value) or isinstance(value, float))
    if not ok_type or not low <= value <= high:
        kind = "a whole number" if whole else "a number"
        shown = [str(int(x)) if float(x).is_integer() else str(x) for x in (low, high)]
        yield Violation(key, value, f"must be {kind} between {shown[0]} and {shown[1]}")


@rule
def preflight_section(raw: RawSite) -> Iterator[Violation]:
    preflight = raw.get("preflight")
    if not isinstance(preflight, Mapping):
        return
    yield from _unknown_keys("preflight", preflight, PREFLIGHT_KEYS)
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
        return
    if not isinstance(supported, list) or not supported:
        yield Violation("preflight.supportedOs", supported,
                        'must be a non-empty list such as ["ubuntu:22.04", "debian:12"] (ID[:VERSION_ID] of /etc/os-release)')
        return
    for i, entry in enumerate(supported):
        yield from _pattern(f"preflight.supportedOs[{i}]", entry, OS_ENTRY,
                            'ID or ID:VERSION_ID of /etc/os-release in lower case, e.g. "ubuntu:22.04"')


# ---------------------------------------------------------------- kubernetes (node labels)

KUBERNETES_KEYS = ("enabled", "labels")
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


@rule
def kubernetes_section(raw: RawSite) -> Iterator[Violation]:
    kubernetes = raw.get("kubernetes")
    if isinstance(kubernetes, Mapping):
        yield from _unknown_keys("kubernetes", kubernetes, KUBERNETES_KEYS)
        yield from _bool("kubernetes.enabled", kubernetes.get("enabled", MISSING))
        yield from _labels("kubernetes.labels", kubernetes.get("labels", MISSING))
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


# ---------------------------------------------------------------- shared with the policy pack (policies/)
#
# The rules below are what the policy pack checks over the resources the program registers. They are
# not registered with @rule, so the program's own check (parse_site) is unchanged by them; decorate
# one with @rule to have the program refuse such a site before any resource exists, too.

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


SHAPE_RULES: tuple[Rule, ...] = (ha_section, scaling_section, haproxy_required)


def check_shape(raw: RawSite) -> list[Violation]:
    """The cluster-shape rules: HA needs 3+ nodes, HA replicas >= 3, failover 10..300 s, autoscaling or
    manual replicas (not both), min <= max replicas, HAProxy when there are 2 or more nodes."""
    found: list[Violation] = []
    for each in SHAPE_RULES:
        found.extend(each(raw))
    return found


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
