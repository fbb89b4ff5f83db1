"""Rules of the core sections: top level, ssh, nodes, install, scaling, ha; each returns the
builder of its part of the model (components/site.py)."""
from __future__ import annotations

import re
from typing import Any, Iterator, Mapping

from .. import model   # the model the rules build (components/model.py imports no rule)
from .core import *  # noqa: F401,F403  (the registry and the value checks)
from .defaults import DEFAULTS


# ---------------------------------------------------------------- top level

@rule
def known_top_level_keys(raw: RawSite) -> Iterator[Violation]:
    yield from _unknown_keys("", raw.values, TOP_LEVEL_KEYS)
    yield from _bool("adopt", raw.get("adopt"))
    return lambda: present(raw.values, "adopt")


@rule
def sections_are_objects(raw: RawSite) -> Iterator[Violation]:
    for key in ("ssh", "install", "scaling", "ha", "haproxy", "preflight", "kubernetes"):
        value = raw.get(key)
        if value is not MISSING and value is not None and not isinstance(value, Mapping):
            yield Violation(key, SECRET_SHOWN if key in raw.secret_keys else value, "must be an object")


# ---------------------------------------------------------------- ssh

SSH_KEYS = keys_of(model.Ssh)
BASTION_KEYS = keys_of(model.Bastion)


@config_rule("ssh", required="is required: at least ssh.privateKey (set it with `pulumi config set --secret --path elma365:ssh.privateKey`)")
def ssh_section(raw: RawSite, ssh: Any) -> Iterator[Violation]:
    if not isinstance(ssh, Mapping):
        return None
    # hidden even while ssh is not a secret (not section_rule): an unknown key may be a misspelt privateKey
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
            yield from _unknown_keys("ssh.bastion", bastion, BASTION_KEYS)
            yield from _ssh_server("ssh.bastion", bastion, "is required when ssh.bastion is set")
    return lambda: {"ssh": _ssh(ssh)}


def _ssh(ssh: Mapping[str, Any]) -> Any:
    password, bastion = ssh.get("privateKeyPassword"), ssh.get("bastion")
    return built(model.Ssh, ssh, privateKey=model.Secret(ssh["privateKey"]),
                 privateKeyPassword=model.Secret(password) if password else MISSING,
                 bastion=built(model.Bastion, bastion) if bastion else MISSING)


# ---------------------------------------------------------------- nodes

NODE_NAME = re.compile(r"^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")
NODE_KEYS = keys_of(model.Node)
# nodes[i].decommission: false (default), true (a live node: drain, leave, remove), "force" (a dead
# node: removed on the main node only; nothing runs on it); the model's Node.decommission
DECOMMISSION = {True: "drain", "force": "force"}


def active_nodes(raw: RawSite) -> list[Mapping[str, Any]]:
    """The nodes that are, or are to be, cluster members: every entry not being decommissioned."""
    return [n for n in _nodes(raw) if n.get("decommission", False) in (False, None)]


@config_rule("nodes", required="is required: a list of {name, address}; the first node is the main node")
def nodes_list(raw: RawSite, nodes: Any) -> Iterator[Violation]:
    if not isinstance(nodes, list) or not nodes:
        yield Violation("nodes", nodes, "must be a non-empty list of {name, address}")
        return None
    yield from _objects("nodes", nodes, NODE_KEYS, "must be an object with name and address", _node_entry)
    # built once the site is checked, their labels too (kubernetes_rules.py)
    return lambda: {"nodes": tuple(_node(n) for n in nodes)}


def _node_entry(key: str, i: int, node: Mapping[str, Any]) -> Iterator[Violation]:
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
    yield from _host_key(f"{key}.hostKey", node.get("hostKey", MISSING))
    decommission = node.get("decommission", False)
    if not (decommission is None or decommission is False or decommission is True or decommission == "force"):
        yield Violation(f"{key}.decommission", decommission,
                        'must be false, true (a live node: drain, leave, remove) or "force" (a dead node)')
    elif i == 0 and decommission not in (False, None):
        yield Violation(f"{key}.decommission", decommission,
                        f"the main node ({node.get('name')}) cannot be decommissioned: ELMA365 was installed "
                        "there and the other nodes joined it; decommission the other nodes instead")


def _node(node: Mapping[str, Any]) -> Any:
    address = node["address"]
    return build(model.Node, **present(node, "name", "port", "hostKey", "zone", "rack"), address=address,
                 clusterAddress=address if node.get("clusterAddress") is None else node["clusterAddress"],
                 labels=dict(node.get("labels") or {}), decommission=DECOMMISSION.get(node.get("decommission")))


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

EDITION = re.compile(r"^[a-z][a-z0-9-]{0,31}$")
URL = re.compile(r"^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?(/[A-Za-z0-9._~/%+=&?-]*)?$")
MICROK8S_CHANNEL = re.compile(r"^[0-9a-z.]+(/[a-z]+)?$")
INSTALL_KEYS = keys_of(model.Install)
CERTIFICATES_KEYS = keys_of(model.Certificates)
BACKUP_HOST_KEYS = keys_of(model.BackupHost)


@section_rule("install", INSTALL_KEYS)
def install_section(raw: RawSite, install: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _pattern("install.edition", install.get("edition", MISSING), EDITION, "an edition name such as enterprise")
    yield from _pattern("install.installerUrl", install.get("installerUrl", MISSING), URL, "an http(s) URL")
    backups = install.get("datastoreBackups", MISSING)
    if backups is not MISSING and (not is_int(backups) or not 0 <= backups <= 100):
        yield Violation("install.datastoreBackups", backups,
                        "must be a whole number between 0 (no backups) and 100 (datastore backups kept)")
    yield from _backup_host(install)
    yield from _pattern("install.microk8sChannel", install.get("microk8sChannel", MISSING), MICROK8S_CHANNEL,
                        "a snap channel such as 1.28/stable")
    for key, low, high in (("microk8sRefresh", 1, 10 ** 6), ("questionTimeoutSeconds", 1, 3600),
                           ("timeoutMinutes", 1, 24 * 60)):
        yield from _number(f"install.{key}", install.get(key, MISSING), low, high, whole=True)
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
    if answers not in (MISSING, None):
        yield from _answers(raw, answers)
    certificates = install.get("certificates")
    certificates = {} if certificates is None else certificates   # left out or null: the defaults
    if not isinstance(certificates, Mapping):
        yield Violation("install.certificates", certificates, "must be an object {renewDaysBefore}")
    else:
        yield from _unknown_keys("install.certificates", certificates, CERTIFICATES_KEYS)
        # MicroK8s signs them for 365 days: a window as long would renew them on every run
        yield from _number("install.certificates.renewDaysBefore", certificates.get("renewDaysBefore", MISSING), 0, 300,
                           whole=True)
    return lambda: {"install": _install(install)}


def _backup_host(install: Mapping[str, Any]) -> Iterator[Violation]:
    """`install.datastoreBackupHost`: where a copy of each datastore backup goes, host key pinned."""
    host = install.get("datastoreBackupHost", MISSING)
    if host in (MISSING, None):
        return
    key = "install.datastoreBackupHost"
    if not isinstance(host, Mapping):
        yield Violation(key, host, "must be an object {host, port, user, hostKey, path}")
        return
    yield from _unknown_keys(key, host, BACKUP_HOST_KEYS)
    yield from _ssh_server(key, host, "is required: the backup host's address")
    if host.get("hostKey") in (None, ""):
        yield Violation(f"{key}.hostKey", MISSING, "is required: the main node sends the cluster's Secrets there, "
                                                  "to this host key only (ssh-keyscan -t ed25519 <host>)")
    path = host.get("path", MISSING)
    if path is not MISSING and (not isinstance(path, str) or not ABSOLUTE_PATH.match(path) or ".." in path.split("/")):
        yield Violation(f"{key}.path", path, "must be an absolute folder path of letters, digits and ._-/")
    if install.get("datastoreBackups", MISSING) == 0:
        yield Violation(key, host, "needs install.datastoreBackups above 0: with 0 no backup is taken")


def _install(install: Mapping[str, Any]) -> Any:
    services, answers = install.get("externalServices") or {}, install.get("answers") or []
    return built(model.Install, install,
                 externalServices={k: model.Secret(v) for k, v in services.items() if k in EXTERNAL_SERVICES},
                 answers=tuple(model.Answer(a["prompt"], model.Secret(str(a["answer"]))) for a in answers),
                 certificates=built(model.Certificates, install.get("certificates") or {}),
                 datastoreBackupHost=built(model.BackupHost, install["datastoreBackupHost"])
                 if install.get("datastoreBackupHost") else MISSING)


def _answers(raw: RawSite, answers: Any) -> Iterator[Violation]:
    if not isinstance(answers, list):
        yield Violation("install.answers", answers, "must be a list of {prompt, answer}")
        return

    def answer_entry(key: str, i: int, item: Mapping[str, Any]) -> Iterator[Violation]:
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

    yield from _objects("install.answers", answers, ("prompt", "answer"), "must be an object {prompt, answer}",
                        answer_entry, secret=True)


# ---------------------------------------------------------------- scaling

SCALING_KEYS = keys_of(model.Scaling)
SERVICE_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")


@section_rule("scaling", SCALING_KEYS)
def scaling_section(raw: RawSite, scaling: Mapping[str, Any]) -> Iterator[Violation]:
    yield from _bool("scaling.linkerd", scaling.get("linkerd", MISSING))
    auto = scaling.get("autoscaling", MISSING)
    replicas = scaling.get("replicas", MISSING)
    auto_on = False
    if auto not in (MISSING, None):
        if not isinstance(auto, Mapping):
            yield Violation("scaling.autoscaling", auto, "must be an object {enabled, minReplicas, maxReplicas}")
        else:
            yield from _unknown_keys("scaling.autoscaling", auto, keys_of(model.Autoscaling))
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
            if enabled is False and scaling.get("linkerd", DEFAULTS["scaling.linkerd"]) is False:
                yield Violation("scaling.linkerd", False,
                                "Linkerd must stay enabled when autoscaling is disabled (the manual requires it for fault tolerance)")
    if replicas in (MISSING, None):
        return lambda: {"scaling": _scaling(scaling)}
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
    return lambda: {"scaling": _scaling(scaling)}


def _scaling(scaling: Mapping[str, Any]) -> Any:
    auto, replicas = scaling.get("autoscaling"), dict(scaling.get("replicas") or {})
    return built(model.Scaling, scaling,
                 autoscaling=built(model.Autoscaling, auto)
                 if auto else MISSING,
                 # `scale all` first, so a per-service count given beside it wins
                 replicas={k: replicas[k] for k in sorted(replicas, key=lambda k: (k != "all", k))})


# ---------------------------------------------------------------- high availability

# each key HA needs while it is enabled: whether a value is good, and the rule it breaks
HA_WHEN_ON = {
    "replicas": (lambda v: is_int(v) and v >= 3, "must be a whole number >= 3", "system-service replicas, at least 3"),
    "failoverSeconds": (lambda v: is_int(v) and 10 <= v <= 300, "must be between 10 and 300", "between 10 and 300"),
}


@section_rule("ha", keys_of(model.Ha))
def ha_section(raw: RawSite, ha: Mapping[str, Any]) -> Iterator[Violation]:
    enabled = ha.get("enabled", MISSING)
    if not isinstance(enabled, bool):
        yield Violation("ha.enabled", enabled, "is required: true or false")
    for key, (good, rule_text, needed) in HA_WHEN_ON.items():
        value = ha.get(key, MISSING)
        if enabled is True and value is MISSING:
            yield Violation(f"ha.{key}", MISSING, f"is required when HA is enabled ({needed})")
        elif value is not MISSING and not good(value):
            yield Violation(f"ha.{key}", value, rule_text)
    count = len(active_nodes(raw))
    if enabled is True and count < 3:
        yield Violation("ha.enabled", True,
                        f"HA mode needs at least 3 active nodes, the site has {count} (not counting decommissioned "
                        "ones): add the replacement node first, then decommission the old one in a later run")
    return lambda: {"ha": built(model.Ha, ha)}
