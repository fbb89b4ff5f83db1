"""Rules of elma365:haproxy; haproxy_section returns the builder of the model's Haproxy."""
from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator, Mapping

from .. import model   # the model the rules build (components/model.py imports no rule)
from .defaults import DEFAULTS
from .core import *  # noqa: F401,F403  (the registry and the value checks)


# ---------------------------------------------------------------- haproxy

# the one balancer's `host` (and its `port`, `user`, `hostKey`) and `virtualIp` are the config's shape of
# the model's balancers and keepalived
HAPROXY_KEYS = keys_of(model.Haproxy, "host", "port", "user", "hostKey", "virtualIp")
HAPROXY_TIMEOUT_KEYS = keys_of(model.HaproxyTimeouts)
HAPROXY_HEALTH_KEYS = keys_of(model.HealthCheck)
HAPROXY_STATS_KEYS = keys_of(model.HaproxyStats)
HAPROXY_TLS_KEYS = keys_of(model.HaproxyTls)
BALANCER_KEYS = keys_of(model.BalancerHost)
KEEPALIVED_KEYS = keys_of(model.Keepalived)
MAX_BALANCERS = 5
INTERFACE = re.compile(r"^[A-Za-z0-9_.-]{1,15}$")
HAPROXY_TIME = re.compile(r"^[1-9][0-9]{0,8}(us|ms|s|m|h|d)?$")
HAPROXY_URI = re.compile(r"^/[A-Za-z0-9._~/%-]{0,200}$")
STATS_USER = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
# printable ASCII without space, quotes, backslash, '#' and '$': safe as a bare HAProxy config word
STATS_PASSWORD = re.compile(r"^[!%&(-\[\]-~]{8,128}$")
PEM_CERTIFICATE = re.compile(r"-----BEGIN CERTIFICATE-----")
PEM_PRIVATE_KEY = re.compile(PRIVATE_KEY.pattern.lstrip("^"))  # anywhere in a PEM bundle


def _haproxy_time(key: str, value: Any, examples: str) -> Iterator[Violation]:
    if value is not MISSING and not (is_int(value) and value > 0 or isinstance(value, str) and HAPROXY_TIME.match(value)):
        yield Violation(key, value, f"must be an HAProxy time such as {examples}")


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
            yield from _haproxy_time(f"haproxy.timeouts.{name}", timeouts.get(name, MISSING),
                                     "500ms, 5s, 1m, 1h (a bare number is milliseconds)")
    yield from _number("haproxy.retries", haproxy.get("retries", MISSING), 0, 10, whole=True)
    yield from _bool("haproxy.redispatch", haproxy.get("redispatch", MISSING))
    health = haproxy.get("healthCheck", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.healthCheck", health, HAPROXY_HEALTH_KEYS)
    if isinstance(health, Mapping):
        yield from _pattern("haproxy.healthCheck.path", health.get("path", MISSING), HAPROXY_URI,
                            "a URL path such as / (letters, digits, ._~/%-)")
        yield from _haproxy_time("haproxy.healthCheck.inter", health.get("inter", MISSING), "1s or 500ms")
        for name in ("fall", "rise"):
            yield from _number(f"haproxy.healthCheck.{name}", health.get(name, MISSING), 1, 100, whole=True)
    stats = haproxy.get("stats", MISSING)
    yield from _haproxy_subsection(raw, "haproxy.stats", stats, HAPROXY_STATS_KEYS)
    if isinstance(stats, Mapping):
        if stats.get("bind") in (None, MISSING, ""):
            yield Violation("haproxy.stats.bind", MISSING, "is required when haproxy.stats is set (e.g. 127.0.0.1:8404)")
        else:
            yield from _haproxy_bind("haproxy.stats.bind", stats["bind"])
            if stats["bind"] == haproxy.get("bind", DEFAULTS["haproxy.bind"]):
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
        if tls.get("certificatePath") == haproxy.get("configPath", DEFAULTS["haproxy.configPath"]):
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


@section_rule("haproxy", HAPROXY_KEYS, hide_when_secret=True)
def haproxy_section(raw: RawSite, haproxy: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _balancers(raw, haproxy)
    bind = haproxy.get("bind", MISSING)
    if bind is not MISSING:
        match = BIND.match(bind) if isinstance(bind, str) else None
        if not match or not 1 <= int(match.group(2)) <= 65535:
            yield Violation("haproxy.bind", bind, "must be <address>:<port> or *:<port>")
    yield from _port("haproxy.backendPort", haproxy.get("backendPort", MISSING))
    yield from _pattern("haproxy.configPath", haproxy.get("configPath", MISSING), ABSOLUTE_PATH, "an absolute path")
    yield from _bool("haproxy.shared", haproxy.get("shared", MISSING))
    include = haproxy.get("includePath", MISSING)
    yield from _pattern("haproxy.includePath", include, ABSOLUTE_PATH, "an absolute path")
    if isinstance(include, str) and not include.endswith(".cfg"):
        yield Violation("haproxy.includePath", include, "must end in .cfg (HAProxy loads only *.cfg from a folder)")
    log = haproxy.get("log", MISSING)
    if log is not MISSING and not (isinstance(log, str) and (ABSOLUTE_PATH.match(log) or BIND.match(log))):
        yield Violation("haproxy.log", log, "must be a syslog socket path (/dev/log) or <address>:<port>")
    yield from _one_line("haproxy.reloadCommand", haproxy.get("reloadCommand", MISSING))
    yield from _haproxy_extras(raw, haproxy)
    yield from _virtual_ip(raw, haproxy)
    return lambda: {"haproxy": _haproxy(haproxy)}


def _haproxy(haproxy: Mapping[str, Any]) -> Any:
    stats, tls = haproxy.get("stats"), haproxy.get("tls")
    return built(model.Haproxy, haproxy,
                 hosts=tuple(_balancer(b) for b in (haproxy.get("hosts") or [haproxy])),
                 # HAProxy times: a bare number is milliseconds
                 timeouts=build(model.HaproxyTimeouts, **_times(haproxy.get("timeouts") or {}, HAPROXY_TIMEOUT_KEYS)),
                 healthCheck=built(model.HealthCheck, haproxy.get("healthCheck") or {},
                                   **_times(haproxy.get("healthCheck") or {}, ("inter",))),
                 stats=built(model.HaproxyStats, stats, password=model.Secret(stats["password"])) if stats else MISSING,
                 tls=built(model.HaproxyTls, tls, certificate=model.Secret(tls["certificate"])) if tls else MISSING,
                 keepalived=_keepalived(haproxy))


def _times(mapping: Mapping[str, Any], keys: tuple[str, ...]) -> dict[str, str]:
    return {key: str(value) for key, value in present(mapping, *keys).items()}


def _balancer(entry: Any) -> Any:
    """`haproxy.hosts[i]`: an address, or {host, port, user, hostKey}; the single-host form is the same."""
    return built(model.BalancerHost, {"host": entry} if isinstance(entry, str) else entry)


def _keepalived(haproxy: Mapping[str, Any]) -> Any:
    if not haproxy.get("virtualIp"):
        return MISSING
    address, _, prefix = str(haproxy["virtualIp"]).partition("/")
    return built(model.Keepalived, haproxy.get("keepalived") or {}, address=address,
                 prefixLength=int(prefix) if prefix else (128 if ":" in address else 32))


def _one_line(key: str, value: Any) -> Iterator[Violation]:
    if value is not MISSING and (not isinstance(value, str) or not value.strip() or "\n" in value or "\0" in value):
        yield Violation(key, value, "must be a one-line command")


def _balancers(raw: RawSite, haproxy: Mapping[str, Any]) -> Iterator[Violation]:
    """`host` (one balancer) or `hosts` (one or more), never both."""
    hosts = haproxy.get("hosts", MISSING)
    if hosts is MISSING or hosts is None:
        yield from _ssh_server("haproxy", haproxy, "is required when haproxy is set (the load balancer's SSH "
                                                   "address; or haproxy.hosts for several)")
        return
    if haproxy.get("host") not in (MISSING, None) or any(haproxy.get(k) not in (MISSING, None)
                                                         for k in ("port", "user", "hostKey")):
        yield Violation("haproxy.host", haproxy.get("host", MISSING),
                        "give haproxy.host (with port, user, hostKey) or haproxy.hosts, not both: "
                        "with hosts, each entry carries its own port, user and hostKey")
    if not isinstance(hosts, list) or not 1 <= len(hosts) <= MAX_BALANCERS:
        yield Violation("haproxy.hosts", hosts, f"must be a list of 1 to {MAX_BALANCERS} balancers, each an "
                                                "address or {host, port, user, hostKey}")
        return
    seen = set()

    def balancer(key: str, i: int, entry: Mapping[str, Any]) -> Iterator[Violation]:
        yield from _ssh_server(key, entry, "is required (the balancer's SSH address)")
        host = entry.get("host")
        if isinstance(host, (list, dict)):  # not an address (said above), nor a member of a set
            return
        if host in seen:
            yield Violation(f"{key}.host", host, "is listed twice in haproxy.hosts")
        seen.add(host)

    yield from _objects("haproxy.hosts", [{"host": e} if isinstance(e, str) else e for e in hosts], BALANCER_KEYS,
                        "must be an address or an object {host, port, user, hostKey}", balancer)


def _virtual_ip(raw: RawSite, haproxy: Mapping[str, Any]) -> Iterator[Violation]:
    """Several balancers share one address (keepalived); one balancer needs none."""
    vip, keepalived = haproxy.get("virtualIp", MISSING), haproxy.get("keepalived", MISSING)
    hosts = haproxy.get("hosts")
    count = len(hosts) if isinstance(hosts, list) else 1
    if vip in (MISSING, None):
        if count > 1:
            yield Violation("haproxy.virtualIp", MISSING,
                            f"is required with {count} haproxy.hosts: the address clients use, which keepalived "
                            "keeps on the live balancer")
        if keepalived not in (MISSING, None):
            yield Violation("haproxy.keepalived", "{...}", "is set but haproxy.virtualIp is not")
        return
    if count < 2:
        yield Violation("haproxy.virtualIp", vip, "needs at least two haproxy.hosts (one balancer has its own address)")
    address, _, prefix = str(vip).partition("/")
    try:
        ip = ipaddress.ip_address(address)
        if prefix and not (prefix.isdigit() and 1 <= int(prefix) <= ip.max_prefixlen):
            raise ValueError(prefix)
    except ValueError:
        yield Violation("haproxy.virtualIp", vip, "must be an IPv4/IPv6 address, optionally with a prefix "
                                                  "length (10.0.0.100 or 10.0.0.100/24)")
    else:
        taken = {str(h.get("host") if isinstance(h, Mapping) else h) for h in (hosts if isinstance(hosts, list) else [])}
        taken |= {str(n.get(k)) for n in _nodes(raw) for k in ("address", "clusterAddress")}
        if address in taken:
            yield Violation("haproxy.virtualIp", vip, "must be an address of its own, not a balancer's or a node's")
    bind = haproxy.get("bind", DEFAULTS["haproxy.bind"])
    if isinstance(bind, str) and not bind.startswith("*:"):
        yield Violation("haproxy.bind", bind, "must be *:<port> with a virtual IP: a standby balancer must "
                                              "listen before the address arrives")
    if not isinstance(keepalived, Mapping):
        yield Violation("haproxy.keepalived.interface", MISSING,
                        "is required with haproxy.virtualIp: the network interface (the same name on every "
                        "balancer) that carries the virtual IP and VRRP, e.g. eth0")
        return
    yield from _unknown_keys("haproxy.keepalived", keepalived, KEEPALIVED_KEYS)
    interface = keepalived.get("interface", MISSING)
    if interface in (MISSING, None, ""):
        yield Violation("haproxy.keepalived.interface", MISSING,
                        "is required with haproxy.virtualIp (the interface that carries it, e.g. eth0)")
    yield from _pattern("haproxy.keepalived.interface", interface, INTERFACE, "an interface name such as eth0")
    yield from _number("haproxy.keepalived.virtualRouterId", keepalived.get("virtualRouterId", MISSING), 1, 255,
                       whole=True)
    # VRRPv3 counts in centiseconds: 0.01 s .. 40.95 s
    yield from _number("haproxy.keepalived.advertInterval", keepalived.get("advertInterval", MISSING), 0.01, 40.95)
    yield from _bool("haproxy.keepalived.preempt", keepalived.get("preempt", MISSING))
    yield from _pattern("haproxy.keepalived.configPath", keepalived.get("configPath", MISSING), ABSOLUTE_PATH,
                        "an absolute path")
    yield from _one_line("haproxy.keepalived.reloadCommand", keepalived.get("reloadCommand", MISSING))
