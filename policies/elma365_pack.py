"""The elma365-cluster policy pack: what a deployment of an ELMA365 cluster must never do.

The policies are plain functions over the pulumi_policy argument objects, so tests call them
directly (tests/test_policies.py); __main__.py only serves them to the Pulumi CLI.

Step names come from components/names.py, the production rule's message from components/rules/.
Only what can fire on a stack of this program is here: what a hand-edited stack or a changed
program could get wrong (hygiene, pinning, serial roll-outs); the rules the program runs before any
resource exists are not repeated. Messages never quote a command's text (it may hold the very
secret being reported).
"""
from __future__ import annotations

import re
from typing import Any, Iterable, Mapping, Optional

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError

from components import names as steps, rules

PACK_NAME = "elma365-cluster-policies"
CLUSTER_TYPE = steps.type_of(steps.CLUSTER)
COMMAND_TYPE = steps.COMMAND
DEFAULT_PRODUCTION_PATTERN = "^prod"

# ---------------------------------------------------------------- helpers


def _get(props: Mapping[str, Any], key: str) -> Any:
    """props.get(key), also for the SDK's proxies (an unknown value during preview raises
    UnknownValueError, which the SDK reports as "can't run policy during preview")."""
    return props[key] if key in props else None


def stack_of(urn: str) -> str:
    """urn:pulumi:<stack>::<project>::<type>::<name> -> <stack>."""
    return urn.split("::", 1)[0].split(":", 2)[-1]


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _connections(props: Mapping[str, Any]) -> list[tuple[str, Mapping[str, Any]]]:
    conn = _get(props, "connection")
    if not isinstance(conn, Mapping):
        return []
    found = [("connection", conn)]
    proxy = _get(conn, "proxy")
    if isinstance(proxy, Mapping):
        found.append(("connection.proxy", proxy))
    return found


def _deps(resource: PolicyResource) -> set[str]:
    urns = {d.urn for d in resource.dependencies}
    for deps in resource.property_dependencies.values():
        urns |= {d.urn for d in deps}
    return urns


def _reaches(resource: PolicyResource, target: str, by_urn: dict[str, PolicyResource]) -> bool:
    """`resource` cannot start before `target` has finished (a chain of dependencies leads there)."""
    seen, todo = set(), [resource]
    while todo:
        for urn in _deps(todo.pop()):
            if urn == target:
                return True
            if urn not in seen and urn in by_urn:
                seen.add(urn)
                todo.append(by_urn[urn])
    return False


def _dep_names(resource: PolicyResource, by_urn: Mapping[str, PolicyResource]) -> str:
    names = sorted(by_urn[u].name if u in by_urn else u for u in _deps(resource))
    return ", ".join(names) or "nothing"


def _node_names(cluster: PolicyResource) -> list[str]:
    """The site's nodes in order, main node first: the component's nodeNames output (what a stack
    policy sees), or its nodes input (what a resource policy sees)."""
    names = _get(cluster.props, "nodeNames")
    if names is None:  # nodes being decommissioned are no longer part of the roll-outs
        names = [_get(n, "name") for n in (_get(cluster.props, "nodes") or []) if not _get(n, "decommission")]
    return [str(n) for n in names]


def _commands(resources: Iterable[PolicyResource]) -> dict[str, PolicyResource]:
    return {r.name: r for r in resources if r.resource_type == COMMAND_TYPE}


def _cluster(args: StackValidationArgs) -> PolicyResource:
    for r in args.resources:
        if r.resource_type == CLUSTER_TYPE:
            return r
    args.not_applicable(f"the stack has no {CLUSTER_TYPE}")
    raise AssertionError("unreachable")


# ---------------------------------------------------------------- 1. the site (component inputs)
# The shape rules (HA needs 3 nodes, replicas, failover, scaling, HAProxy in front) are not here: the
# program runs them before any resource exists, so no stack of this program could break them.


def validate_production_ha(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != CLUSTER_TYPE:
        return
    pattern = args.get_config().get("productionStackPattern", DEFAULT_PRODUCTION_PATTERN)
    raw = rules.from_public_view(args.props)
    for violation in rules.production_runs_ha(raw, stack_of(args.urn), pattern):
        report(str(violation), None)


# ---------------------------------------------------------------- 2. remote commands (inputs)


def validate_key_auth(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMMAND_TYPE:
        return
    for where, conn in _connections(args.props):
        if _get(conn, "password") not in (None, ""):
            report(f"{where}.password is set: SSH must log in with a private key, never a password", None)
        if _get(conn, "privateKey") in (None, ""):
            report(f"{where} has no privateKey: SSH must log in with a private key", None)


def validate_host_keys(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMMAND_TYPE:
        return
    config = args.get_config()
    stack = stack_of(args.urn)
    production = re.search(config.get("productionStackPattern", DEFAULT_PRODUCTION_PATTERN), stack)
    if not (config.get("requireHostKeys", False) or production):
        return
    why = f" (stack {stack!r} looks like production)" if production else ""
    for where, conn in _connections(args.props):
        if _get(conn, "hostKey") in (None, ""):
            report(f"{where} to {_get(conn, 'host')} has no hostKey{why}: pin the server's SSH host key "
                   "(nodes[i].hostKey / haproxy.hostKey / ssh.bastion.hostKey; `make hostkeys` collects them) "
                   "so a spoofed server is refused", None)


SECRET_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("a connection-string password (scheme://user:password@host)",
     re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s/:@'\"]+:[^\s/@'\"]+@")),
    ("a private key (-----BEGIN ... PRIVATE KEY-----)",
     re.compile(r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----")),
    ("a join token (microk8s join <host>:<port>/<token>)",
     re.compile(r"microk8s\s+join\s+[\"']?[^\s/\"']+:[0-9]+/[0-9A-Fa-f]{16,}")),
    ("a password assignment (password=...)",
     re.compile(r"(?i)[A-Za-z0-9_-]*(?:password|passwd|passphrase|secret)[A-Za-z0-9_]*\s*=\s*(?![\"']?\$)[\"']?[^\s\"'$;&|)]+")),
)


def validate_no_inline_secrets(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMMAND_TYPE:
        return
    for field in ("create", "update", "delete"):
        text = _text(_get(args.props, field))
        for what, pattern in SECRET_PATTERNS:
            if pattern.search(text):
                report(f"{field} contains {what}: command text is stored and shown in plain text; "
                       "pass secrets on stdin as a Pulumi secret", None)


SECRET_OUTPUTS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\belma365ctl\s+add-node\b"), "`elma365ctl add-node` (its stdout is a one-time join token)"),
    (re.compile(r"\bmicrok8s\s+config\b"), "`microk8s config` (its stdout is a cluster-admin kubeconfig)"),
)


def validate_secret_output(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMMAND_TYPE:
        return
    create = _text(_get(args.props, "create"))
    for pattern, what in SECRET_OUTPUTS:
        if not pattern.search(create):
            continue
        logging = _get(args.props, "logging")
        if logging != "none":
            report(f"runs {what} but logging is {logging or 'stdoutAndStderr (the default)'}: "
                   "set logging to \"none\"", None)
        if "stdout" not in list(args.opts.additional_secret_outputs or []):
            report(f"runs {what} but stdout is not a secret output: "
                   "set additional_secret_outputs=[\"stdout\", \"stderr\"]", None)
        return


HAPROXY_CHECK = re.compile(r"\bhaproxy\s+-c\b")


def _haproxy_config(props: Mapping[str, Any]) -> str:
    """The HAProxy config an apply step gets on stdin. The program renders it from the host's
    `haproxy -v` (the version step's output), so until that step has run (a preview of a new
    balancer) there is no config yet. pulumi-command's Check hands such a stdin over as an empty
    secret, where the engine had an unknown: an empty stdin is a config not known yet, and the
    policy is left to `pulumi up` as the SDK leaves an unknown value (the CLI shows the advisory
    "can't run policy ... during preview: string value at .stdin can't be known during preview")."""
    text = _text(_get(props, "stdin"))
    if not text.strip():
        raise UnknownValueError(UNKNOWN_STRING_VALUE, ["stdin"])
    return text


def validate_haproxy_checks(args: ResourceValidationArgs, report: ReportViolation) -> None:
    if args.resource_type != COMMAND_TYPE or not HAPROXY_CHECK.search(_text(_get(args.props, "create"))):
        return
    for name, address, options in rules.haproxy_servers(_haproxy_config(args.props)):
        if "check" not in options:
            report(f"HAProxy `server {name} {address}` has no `check`: a node that is down would keep "
                   "getting requests", None)


# ---------------------------------------------------------------- 3. the dependency graph (stack)


def validate_serial_joins(args: StackValidationArgs, report: ReportViolation) -> None:
    cluster = _cluster(args)
    names = _node_names(cluster)
    if len(names) < 2:
        return
    commands = _commands(args.resources)
    by_urn = {r.urn: r for r in args.resources}
    previous = commands.get(steps.install(names[0]))
    if previous is None:
        report(f"the main node {names[0]} has no {steps.install(names[0])} command: joins start after the install",
               cluster.urn)
    for node in names[1:]:
        add, join = commands.get(steps.add_node(node)), commands.get(steps.join(node))
        for name, found in ((steps.add_node(node), add), (steps.join(node), join)):
            if found is None:
                report(f"node {node} has no {name} command: every joining node is added and joined in the chain",
                       cluster.urn)
        if add is not None and previous is not None and previous.urn not in _deps(add):
            report(f"{add.name} must depend on {previous.name} (joins run one at a time, the first after the "
                   f"install); it depends on: {_dep_names(add, by_urn)}", add.urn)
        if add is not None and join is not None and add.urn not in _deps(join):
            report(f"{join.name} must depend on {add.name} (it joins with that command's one-time token); "
                   f"it depends on: {_dep_names(join, by_urn)}", join.urn)
        previous = join or previous


def validate_serial_ha_updates(args: StackValidationArgs, report: ReportViolation) -> None:
    cluster = _cluster(args)
    names = _node_names(cluster)
    commands = _commands(args.resources)
    updates = [(n, commands.get(steps.update_hamode(n))) for n in names]
    if not any(u for _, u in updates):
        return  # HA is off: nothing rolls out
    by_urn = {r.urn: r for r in args.resources}
    settings = commands.get(steps.RECONFIGURE)
    previous: Optional[PolicyResource] = None
    for node, update in updates:
        if update is None:
            report(f"node {node} has no {steps.update_hamode(node)} command: HA mode is rolled out to every node",
                   cluster.urn)
            continue
        if previous is None and settings is not None and not _reaches(update, settings.urn, by_urn):
            report(f"{update.name} must come after reconfigure (HA mode is set there first); it depends on: "
                   f"{_dep_names(update, by_urn)}", update.urn)
        if previous is not None and previous.urn not in _deps(update):
            report(f"{update.name} must depend on {previous.name} (HA updates restart nodes: one at a time, "
                   f"the first after reconfigure); it depends on: {_dep_names(update, by_urn)}", update.urn)
        previous = update


def validate_haproxy_fronts_every_node(args: StackValidationArgs, report: ReportViolation) -> None:
    cluster = _cluster(args)
    names = _node_names(cluster)
    if len(names) < 2:
        return
    for command in _commands(args.resources).values():
        if HAPROXY_CHECK.search(_text(_get(command.props, "create"))):
            for violation in rules.haproxy_lists_every_node(names, _haproxy_config(command.props)):
                report(str(violation), command.urn)


# ---------------------------------------------------------------- the policies

POLICIES = [
    ResourceValidationPolicy(
        name="elma365-production-ha",
        description="Production stacks (stack name matching productionStackPattern) run ELMA365 in HA mode.",
        validate=validate_production_ha,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "productionStackPattern": {
                "type": "string", "default": DEFAULT_PRODUCTION_PATTERN,
                "description": "Regular expression (searched) over the stack name that marks a production stack.",
            },
        }),
    ),
    ResourceValidationPolicy(
        name="ssh-private-key-only",
        description="Every remote command logs in over SSH with a private key, never with a password "
                    "(also through a bastion).",
        validate=validate_key_auth,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
    ),
    ResourceValidationPolicy(
        name="ssh-host-keys-pinned",
        description="When requireHostKeys is true, or the stack name matches productionStackPattern, every "
                    "remote command's SSH connection (and bastion) pins the server's host key.",
        validate=validate_host_keys,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_schema=PolicyConfigSchema(properties={
            "requireHostKeys": {
                "type": "boolean", "default": False,
                "description": "Require connection.hostKey on every remote command.",
            },
            "productionStackPattern": {
                "type": "string", "default": DEFAULT_PRODUCTION_PATTERN,
                "description": "Regular expression (searched) over the stack name: such stacks always need host keys.",
            },
        }),
    ),
    ResourceValidationPolicy(
        name="no-secrets-in-command-text",
        description="No remote command's create/update/delete text holds a secret: connection-string "
                    "passwords, private keys, microk8s join tokens or password= assignments.",
        validate=validate_no_inline_secrets,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
    ),
    ResourceValidationPolicy(
        name="secret-command-output-hidden",
        description="A command whose output is a secret (elma365ctl add-node: a join token; microk8s config: "
                    "a kubeconfig) logs nothing and has stdout as an additional secret output.",
        validate=validate_secret_output,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.CRITICAL,
    ),
    ResourceValidationPolicy(
        name="haproxy-health-checks",
        description="Every `server` line of the HAProxy config has `check`, so a node that is down is taken "
                    "out of rotation.",
        validate=validate_haproxy_checks,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
    ),
    StackValidationPolicy(
        name="serial-node-joins",
        description="Nodes join one at a time: each <node>-add-node depends on the previous <node>-join, the "
                    "first on the main node's install, and each <node>-join on its own add-node.",
        validate=validate_serial_joins,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
    ),
    StackValidationPolicy(
        name="serial-ha-updates",
        description="HA mode rolls out one node at a time: each <node>-update-hamode depends on the previous "
                    "one, the first comes after reconfigure.",
        validate=validate_serial_ha_updates,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
    ),
    StackValidationPolicy(
        name="haproxy-fronts-every-node",
        description="With 2 or more nodes, the HAProxy config has a `server` line for every node of the site.",
        validate=validate_haproxy_fronts_every_node,
        enforcement_level=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
    ),
]
