"""The policy pack (policies/), run over what the program really registers.

The program runs unchanged under the mock runtime; a recording monitor keeps each registration as
it went over the wire (inputs, the mock's outputs, dependencies, property dependencies, additional
secret outputs, and each component's registered outputs). Those are turned into the pulumi_policy
argument objects the way the SDK's analyzer does it (deserialize_properties + unknown_checking_proxy,
ResourceValidationArgs for Analyze, StackValidationArgs/PolicyResource for AnalyzeStack), and every
policy of the pack is called on them, with a report_violation collector. No Pulumi CLI involved.
"""
from __future__ import annotations

import copy
import subprocess
import sys
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

import pytest
from google.protobuf import json_format, struct_pb2
from pulumi.runtime import proto
from pulumi_policy import (
    EnforcementLevel,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import _NotApplicableError, _PolicyAnalyzerServicer
from pulumi_policy.proxy import unknown_checking_proxy

from components import rules
from policies.elma365_pack import PACK_NAME, POLICIES
from tests.mock_runtime import ROOT_DIR, RecordingMonitor, run_program
from tests.sites import PG_PASSWORD, PG_URL, SECRET_KEYS, TEST_KEY, cluster_outputs, example

HOST_KEY = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEY"


# ---------------------------------------------------------------- the stack as the engine sees it

@dataclass
class Res:
    urn: str
    type: str
    name: str
    parent: str
    custom: bool
    inputs: dict[str, Any]          # what Analyze gets (resource policies)
    outputs: dict[str, Any]         # what AnalyzeStack gets (stack policies)
    dependencies: list[str]
    property_dependencies: dict[str, list[str]]
    additional_secret_outputs: list[str] = field(default_factory=list)


class WireMonitor(RecordingMonitor):
    """RecordingMonitor that also keeps the wire form of each registration and component outputs."""

    def __init__(self, mocks):
        super().__init__(mocks)
        self.wire: dict[str, dict[str, Any]] = {}
        self.registered_outputs: dict[str, dict[str, Any]] = {}

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        urn = self.registrations[-1].urn
        self.wire[urn] = {
            "inputs": json_format.MessageToDict(request.object),
            "outputs": json_format.MessageToDict(response.object),
            "dependencies": list(request.dependencies),
            "propertyDependencies": {k: list(v.urns) for k, v in request.propertyDependencies.items()},
            "additionalSecretOutputs": list(request.additionalSecretOutputs),
        }
        return response

    def RegisterResourceOutputs(self, request):
        self.registered_outputs[request.urn] = json_format.MessageToDict(request.outputs)
        return super().RegisterResourceOutputs(request)


class Stack(list):
    """The registered resources, by name for post-processing."""

    def __getitem__(self, key):
        if isinstance(key, str):
            found = [r for r in self if r.name == key]
            assert len(found) == 1, f"no single resource {key!r}"
            return found[0]
        return super().__getitem__(key)

    def cluster(self) -> Res:
        return next(r for r in self if r.type == "elma365:cluster:Elma365Cluster")

    def set_deps(self, name: str, *on: str) -> None:
        """Replace a resource's dependencies (depends_on and every property's) with `on`."""
        res = self[name]
        urns = [self[n].urn for n in on]
        res.dependencies = urns
        res.property_dependencies = {k: [u for u in v if u in urns] for k, v in res.property_dependencies.items()}

    def drop(self, name: str) -> None:
        self.remove(self[name])

    def set_prop(self, name: str, key: str, value: Any) -> None:
        """A Command's inputs are its outputs too: change both."""
        res = self[name]
        for props in (res.inputs, res.outputs):
            if value is None:
                props.pop(key, None)
            else:
                props[key] = value


def deploy(values: Optional[dict[str, Any]] = None, *, stack: str = "test") -> Stack:
    monitor = WireMonitor(cluster_outputs())
    run_program(values if values is not None else example(), SECRET_KEYS, stack=stack, monitor=monitor)
    resources = Stack()
    for reg in monitor.registrations:
        wire = monitor.wire[reg.urn]
        # A component's state outputs are what it registered with register_outputs; a custom
        # resource's are what the provider (here the mocks) returned.
        outputs = wire["outputs"] if reg.custom else monitor.registered_outputs.get(reg.urn, {})
        resources.append(Res(
            urn=reg.urn, type=reg.type, name=reg.name, parent=reg.parent, custom=reg.custom,
            inputs=deserialize_properties(wire["inputs"]), outputs=deserialize_properties(outputs),
            dependencies=list(wire["dependencies"]),
            property_dependencies=copy.deepcopy(wire["propertyDependencies"]),
            additional_secret_outputs=list(wire["additionalSecretOutputs"])))
    return resources


def _options(res: Res) -> PolicyResourceOptions:
    return PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0),
                                 list(res.additional_secret_outputs), res.parent or None)


def resource_args(res: Res, config: Optional[dict[str, Any]] = None) -> ResourceValidationArgs:
    """As _PolicyAnalyzerServicer.Analyze builds them."""
    props = unknown_checking_proxy(copy.deepcopy(res.inputs))
    return ResourceValidationArgs(res.type, props, res.urn, res.name, _options(res), None, config, {})


def stack_args(resources: list[Res], config: Optional[dict[str, Any]] = None) -> StackValidationArgs:
    """As _PolicyAnalyzerServicer.AnalyzeStack builds them: parents and dependencies as objects."""
    built = {r.urn: PolicyResource(r.type, unknown_checking_proxy(copy.deepcopy(r.outputs)), r.urn, r.name,
                                   _options(r), None, None, [], {}) for r in resources}
    for r in resources:
        policy_resource = built[r.urn]
        policy_resource.parent = built.get(r.parent)
        policy_resource.dependencies = [built[d] for d in r.dependencies if d in built]
        policy_resource.property_dependencies = {k: [built[d] for d in v if d in built]
                                                 for k, v in r.property_dependencies.items()}
    return StackValidationArgs(list(built.values()), config, {})


def run_pack(resources: list[Res], config: Optional[dict[str, dict[str, Any]]] = None) -> list[tuple[str, str, str]]:
    """Every policy over every resource (resource policies) and the stack (stack policies).

    Returns (policy, resource name, message); a stack violation without a URN is named "(stack)"."""
    config = config or {}
    names = {r.urn: r.name for r in resources}
    found: list[tuple[str, str, str]] = []
    for policy in POLICIES:
        cfg = config.get(policy.name)
        if isinstance(policy, ResourceValidationPolicy):
            for res in resources:
                def report(message: str, urn: Optional[str] = None, _res=res, _policy=policy) -> None:
                    found.append((_policy.name, _res.name, message))  # urn is ignored for resources
                try:
                    assert policy.validate(resource_args(res, cfg), report) is None
                except _NotApplicableError:
                    pass
        else:
            def report_stack(message: str, urn: Optional[str] = None, _policy=policy) -> None:
                found.append((_policy.name, names.get(urn, "(stack)") if urn else "(stack)", message))
            try:
                assert policy.validate(stack_args(resources, cfg), report_stack) is None
            except _NotApplicableError:
                pass
    return found


@pytest.fixture(scope="module")
def example_stack() -> Stack:
    return deploy()


# ---------------------------------------------------------------- the pack itself

def test_every_policy_has_a_name_an_auditor_description_and_an_enforcement_level():
    assert len({p.name for p in POLICIES}) == len(POLICIES) == 9
    for policy in POLICIES:
        assert policy.description and len(policy.description) > 40, policy.name
        assert policy.enforcement_level is EnforcementLevel.MANDATORY, policy.name


def test_the_analyzer_info_carries_the_config_schemas():
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", POLICIES, EnforcementLevel.MANDATORY)
    info = servicer.GetAnalyzerInfo(None, None)
    schemas = {p.name: json_format.MessageToDict(p.configSchema) for p in info.policies}
    assert schemas["ssh-host-keys-pinned"]["properties"]["requireHostKeys"]["default"] is False
    assert schemas["elma365-production-ha"]["properties"]["productionStackPattern"]["default"] == "^prod"
    kinds = {p.name: p.policy_type for p in info.policies}
    assert kinds["serial-node-joins"] == proto.PolicyType.POLICY_TYPE_STACK
    assert kinds["elma365-production-ha"] == proto.PolicyType.POLICY_TYPE_RESOURCE
    # the shape rules the program runs before any resource exists are not repeated in the pack
    assert "elma365-cluster-shape" not in kinds


def test_the_pack_starts_from_policies_dir_the_way_the_cli_runs_it():
    """`python -m pulumi.policy <engine> <program>` is what the Python analyzer plugin runs: it
    run_path()s the pack directory. The pack must find components.rules and print its gRPC port."""
    proc = subprocess.Popen([sys.executable, "-u", "-m", "pulumi.policy", "127.0.0.1:1", "."],
                            cwd=ROOT_DIR / "policies", stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip().isdigit(), proc.stderr.read() if proc.poll() is not None else line
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_rules_shared_with_the_program_read_the_public_view_back():
    raw = rules.from_public_view({"nodes": [{"name": "a", "port": None}], "scaling": {"autoscaling": None,
                                  "replicas": {}, "linkerd": True}, "ha": {"enabled": True, "replicas": 3.0,
                                  "failoverSeconds": 60.0}, "ssh": {"user": "root"}})
    assert dict(raw.values) == {"nodes": [{"name": "a"}], "scaling": {"linkerd": True},
                                "ha": {"enabled": True, "replicas": 3, "failoverSeconds": 60}}


# ---------------------------------------------------------------- sites that pass

def test_the_example_stack_passes_every_policy(example_stack):
    assert run_pack(example_stack) == []


def _pinned(values: dict[str, Any]) -> dict[str, Any]:
    for node in values["nodes"]:
        node["hostKey"] = HOST_KEY
    values["haproxy"]["hostKey"] = HOST_KEY
    return values


def _four_nodes() -> dict[str, Any]:
    values = example()
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    return values


def _bastion_sudo() -> dict[str, Any]:
    values = example()
    values["ssh"].update(user="deploy", sudo=True, bastion={"host": "jump.example.com", "port": 2222})
    return values


def _single_node() -> dict[str, Any]:
    values = example(ha={"enabled": False})
    values["nodes"] = values["nodes"][:1]
    del values["haproxy"]
    return values


@pytest.mark.parametrize("values, stack, config", [
    pytest.param(_pinned(example()), "test", {"ssh-host-keys-pinned": {"requireHostKeys": True}}, id="host-keys-pinned-and-required"),
    pytest.param(_four_nodes(), "test", None, id="four-nodes"),
    pytest.param(_bastion_sudo(), "test", None, id="bastion-and-sudo"),
    pytest.param(example(scaling={"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 5}}), "test", None, id="autoscaling"),
    pytest.param(_pinned(example()), "prod-eu", None, id="production-with-ha-and-pinned-host-keys"),
    pytest.param(_single_node(), "test", None, id="single-node-without-ha-or-haproxy"),
    pytest.param(example(ha={"enabled": False}), "live-1", None, id="non-production-by-default-pattern"),
])
def test_good_sites_pass_every_policy(values, stack, config):
    assert run_pack(deploy(values, stack=stack), config) == []


# ---------------------------------------------------------------- sites that fail

PROD = "elma365-production-ha"
KEY, HOSTKEYS, INLINE = "ssh-private-key-only", "ssh-host-keys-pinned", "no-secrets-in-command-text"
OUTPUT, CHECKS = "secret-command-output-hidden", "haproxy-health-checks"
JOINS, HA_UPDATES, FRONTS = "serial-node-joins", "serial-ha-updates", "haproxy-fronts-every-node"
PLAIN = "command text is stored and shown in plain text; pass secrets on stdin as a Pulumi secret"


@dataclass
class Case:
    build: Callable[[], Stack]
    expected: list[tuple[str, str, str]]
    config: Optional[dict[str, dict[str, Any]]] = None


def edited(edit: Callable[[Stack], None], values: Optional[dict[str, Any]] = None, stack: str = "test") -> Callable[[], Stack]:
    def build() -> Stack:
        resources = deploy(values, stack=stack)
        edit(resources)
        return resources
    return build


def _append_create(name: str, text: str, key: str = "create") -> Callable[[Stack], None]:
    return lambda s: s.set_prop(name, key, s[name].inputs[key] + text)


def _no_check_for(node: str) -> Callable[[Stack], None]:
    def edit(s: Stack) -> None:
        cfg = s["haproxy-config"].inputs["stdin"]
        line = next(line for line in cfg.splitlines() if f"server {node} " in line)
        s.set_prop("haproxy-config", "stdin", cfg.replace(line, line.replace(" check", "")))
    return edit


def _without_server(node: str) -> Callable[[Stack], None]:
    def edit(s: Stack) -> None:
        cfg = s["haproxy-config"].inputs["stdin"]
        s.set_prop("haproxy-config", "stdin", "\n".join(l for l in cfg.splitlines() if f"server {node} " not in l))
    return edit


def _password_connection(s: Stack) -> None:
    conn = s["elma365-2-join"].inputs["connection"]
    conn["password"] = "hunter2"
    del conn["privateKey"]


def _proxy_password(s: Stack) -> None:
    s["scale-all"].inputs["connection"]["proxy"]["password"] = "hunter2"


def _kubeconfig_command(s: Stack) -> None:
    res = copy.deepcopy(s["scale-all"])
    res.name, res.urn = "kubeconfig", res.urn.replace("::scale-all", "::kubeconfig")
    res.inputs["create"] = "microk8s config"
    del res.inputs["logging"]
    s.append(res)


def _hostkeys_but_haproxy() -> dict[str, Any]:
    values = _pinned(example())
    del values["haproxy"]["hostKey"]
    return values



CASES: dict[str, Case] = {
    # 1. the site: a production stack without HA (the program allows it; the pack does not)
    "production-without-ha": Case(edited(lambda s: None, _pinned(example(ha={"enabled": False})), stack="prod-eu"), [
        (PROD, "elma365", "elma365:ha.enabled = false: must be true on a production stack (stack 'prod-eu' matches '^prod')")]),
    "production-pattern-from-config": Case(edited(lambda s: None, example(ha={"enabled": False}), stack="live-1"), [
        (PROD, "elma365", "elma365:ha.enabled = false: must be true on a production stack (stack 'live-1' matches '^(prod|live)')")],
        config={PROD: {"productionStackPattern": "^(prod|live)"}}),
    # 2. remote commands
    "password-connection": Case(edited(_password_connection), [
        (KEY, "elma365-2-join", "connection.password is set: SSH must log in with a private key, never a password"),
        (KEY, "elma365-2-join", "connection has no privateKey: SSH must log in with a private key")]),
    "bastion-password": Case(edited(_proxy_password, _bastion_sudo()), [
        (KEY, "scale-all", "connection.proxy.password is set: SSH must log in with a private key, never a password")]),
    "host-key-missing-when-required": Case(edited(lambda s: None, _hostkeys_but_haproxy()), [
        (HOSTKEYS, "haproxy-version", "connection to 192.168.1.50 has no hostKey: pin the server's SSH host key "
                                      "(nodes[i].hostKey / haproxy.hostKey / ssh.bastion.hostKey; `make hostkeys` collects them) so a spoofed server is refused"),
        (HOSTKEYS, "haproxy-config", "connection to 192.168.1.50 has no hostKey: pin the server's SSH host key "
                                     "(nodes[i].hostKey / haproxy.hostKey / ssh.bastion.hostKey; `make hostkeys` collects them) so a spoofed server is refused")],
        config={HOSTKEYS: {"requireHostKeys": True}}),
    "connection-string-password-in-create": Case(edited(_append_create("scale-all", f"\nexport DB={PG_URL}")), [
        (INLINE, "scale-all", f"create contains a connection-string password (scheme://user:password@host): {PLAIN}")]),
    "private-key-in-create": Case(edited(_append_create("elma365-1-install", f"\ncat > /root/.ssh/id <<'K'\n{TEST_KEY}K")), [
        (INLINE, "elma365-1-install", f"create contains a private key (-----BEGIN ... PRIVATE KEY-----): {PLAIN}")]),
    "join-token-in-create": Case(edited(lambda s: s.set_prop("elma365-2-join", "create", s["elma365-2-join"].inputs["create"].replace(
        'microk8s join "$target"', "microk8s join 192.168.1.51:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05"))), [
        (INLINE, "elma365-2-join", f"create contains a join token (microk8s join <host>:<port>/<token>): {PLAIN}")]),
    "password-assignment-in-update": Case(edited(_append_create("elma365-2-preflight", "\nmysql --password=s3cret -e 'select 1'", "update")), [
        (INLINE, "elma365-2-preflight", f"update contains a password assignment (password=...): {PLAIN}")]),
    "add-node-logging-on": Case(edited(lambda s: s.set_prop("elma365-2-add-node", "logging", "stdoutAndStderr")), [
        (OUTPUT, "elma365-2-add-node", "runs `elma365ctl add-node` (its stdout is a one-time join token) but logging is "
                                       'stdoutAndStderr: set logging to "none"')]),
    "add-node-stdout-not-secret": Case(edited(lambda s: setattr(s["elma365-3-add-node"], "additional_secret_outputs", ["connection"])), [
        (OUTPUT, "elma365-3-add-node", "runs `elma365ctl add-node` (its stdout is a one-time join token) but stdout is not "
                                       'a secret output: set additional_secret_outputs=["stdout", "stderr"]')]),
    "kubeconfig-command-in-the-clear": Case(edited(_kubeconfig_command), [
        (OUTPUT, "kubeconfig", "runs `microk8s config` (its stdout is a cluster-admin kubeconfig) but logging is "
                               'stdoutAndStderr (the default): set logging to "none"'),
        (OUTPUT, "kubeconfig", "runs `microk8s config` (its stdout is a cluster-admin kubeconfig) but stdout is not "
                               'a secret output: set additional_secret_outputs=["stdout", "stderr"]')]),
    "haproxy-server-without-check": Case(edited(_no_check_for("elma365-2")), [
        (CHECKS, "haproxy-config", "HAProxy `server elma365-2 192.168.1.52:80` has no `check`: a node that is down "
                                   "would keep getting requests")]),
    "haproxy-missing-a-node": Case(edited(_without_server("elma365-3")), [
        (FRONTS, "haproxy-config", 'elma365:nodes[2].name = "elma365-3": has no `server` line in the HAProxy config: '
                                   "the load balancer must front every node")]),
    # 3. the dependency graph
    "parallel-joins": Case(edited(lambda s: s.set_deps("elma365-3-add-node", "elma365-1-install")), [
        (JOINS, "elma365-3-add-node", "elma365-3-add-node must depend on elma365-2-join (joins run one at a time, the "
                                      "first after the install); it depends on: elma365-1-install")]),
    "first-join-before-install": Case(edited(lambda s: s.set_deps("elma365-2-add-node")), [
        (JOINS, "elma365-2-add-node", "elma365-2-add-node must depend on elma365-1-install (joins run one at a time, the "
                                      "first after the install); it depends on: nothing")]),
    "join-without-its-token": Case(edited(lambda s: s.set_deps("elma365-2-join", "elma365-2-prepare")), [
        (JOINS, "elma365-2-join", "elma365-2-join must depend on elma365-2-add-node (it joins with that command's "
                                  "one-time token); it depends on: elma365-2-prepare")]),
    "join-command-missing": Case(edited(lambda s: s.drop("elma365-3-join")), [
        (JOINS, "elma365", "node elma365-3 has no elma365-3-join command: every joining node is added and joined in the chain")]),
    "parallel-ha-updates": Case(edited(lambda s: s.set_deps("elma365-3-update-hamode", "elma365-1-update-hamode")), [
        (HA_UPDATES, "elma365-3-update-hamode", "elma365-3-update-hamode must depend on elma365-2-update-hamode (HA "
                     "updates restart nodes: one at a time, the first after reconfigure); it depends on: elma365-1-update-hamode")]),
    "ha-update-before-reconfigure": Case(edited(lambda s: s.set_deps("elma365-1-update-hamode", "elma365-3-join")), [
        (HA_UPDATES, "elma365-1-update-hamode", "elma365-1-update-hamode must come after reconfigure (HA mode is "
                     "set there first); it depends on: elma365-3-join")]),
    "four-nodes-one-forked-join-and-ha-update": Case(edited(lambda s: (
        s.set_deps("elma365-4-add-node", "elma365-2-join"),
        s.set_deps("elma365-4-update-hamode", "elma365-2-update-hamode")), _four_nodes()), [
        (JOINS, "elma365-4-add-node", "elma365-4-add-node must depend on elma365-3-join (joins run one at a time, the "
                                      "first after the install); it depends on: elma365-2-join"),
        (HA_UPDATES, "elma365-4-update-hamode", "elma365-4-update-hamode must depend on elma365-3-update-hamode (HA "
                     "updates restart nodes: one at a time, the first after reconfigure); it depends on: elma365-2-update-hamode")]),
}


@pytest.mark.parametrize("case", list(CASES.values()), ids=list(CASES))
def test_bad_variant_gets_exactly_its_violations(case: Case):
    assert sorted(run_pack(case.build(), case.config)) == sorted(case.expected)


def test_there_are_at_least_twenty_bad_variants():
    assert len(CASES) >= 20


def test_a_production_stack_without_pinned_host_keys_fails_on_every_command():
    found = run_pack(deploy(example(), stack="prod-eu"), None)
    commands = {r.name for r in deploy(example(), stack="prod-eu") if r.type == "command:remote:Command"}
    assert {resource for policy, resource, _ in found if policy == HOSTKEYS} == commands
    assert all("(stack 'prod-eu' looks like production)" in message for _, _, message in found)


def test_violation_messages_never_quote_the_secret():
    found = run_pack(edited(_append_create("scale-all", f"\nexport DB={PG_URL}\nPGPASSWORD=other-secret psql"))())
    assert [(p, m.split(" (")[0]) for p, _, m in found] == [
        (INLINE, "create contains a connection-string password"), (INLINE, "create contains a password assignment")]
    assert not any(PG_PASSWORD in m or "other-secret" in m for _, _, m in found)


def test_host_keys_are_only_required_when_configured(example_stack):
    found = run_pack(example_stack, {HOSTKEYS: {"requireHostKeys": True}})
    commands = [r.name for r in example_stack if r.type == "command:remote:Command"]
    assert sorted(name for _, name, _ in found) == sorted(commands)
    assert {p for p, _, _ in found} == {HOSTKEYS}


def test_an_unknown_value_during_preview_is_left_to_the_sdk():
    """During preview a value computed from another resource's output is unknown: the proxy raises
    UnknownValueError, which the SDK reports as "can't run policy during preview"."""
    from pulumi_policy.proxy import UNKNOWN_STRING_VALUE, UnknownValueError
    resources = deploy()
    resources["haproxy-config"].inputs["stdin"] = UNKNOWN_STRING_VALUE
    policy = next(p for p in POLICIES if p.name == CHECKS)
    with pytest.raises(UnknownValueError):
        policy.validate(resource_args(resources["haproxy-config"]), lambda m, u=None: None)


def test_a_config_not_known_at_preview_leaves_the_haproxy_policies_to_the_up():
    """What a preview under pulumi-command 1.2.1 hands the policies for a config rendered from the
    not-yet-run `haproxy -v`: an empty stdin (its Check decodes the unknown secret as ""). Neither
    HAProxy policy may read that as a config without server lines."""
    from pulumi_policy.proxy import UnknownValueError
    resources = deploy()
    resources.set_prop("haproxy-config", "stdin", "")
    for name, args in ((CHECKS, resource_args(resources["haproxy-config"])), (FRONTS, stack_args(resources))):
        policy = next(p for p in POLICIES if p.name == name)
        with pytest.raises(UnknownValueError) as raised:
            policy.validate(args, lambda m, u=None: pytest.fail(f"{name} reported {m}"))
        assert raised.value.message == "string value at .stdin can't be known during preview"


# ---------------------------------------------------------------- through the SDK's own analyzer servicer

def _struct(value: dict[str, Any]) -> struct_pb2.Struct:
    out = struct_pb2.Struct()
    out.update(value)
    return out


def test_the_sdk_analyzer_reports_the_same_violations():
    """The Analyze / AnalyzeStack gRPC handlers of pulumi_policy, fed protobuf requests: the
    direct calls above build their arguments the same way."""
    resources = deploy(_pinned(example(ha={"enabled": False})), stack="prod-eu")
    resources.set_deps("elma365-3-add-node", "elma365-1-install")
    servicer = _PolicyAnalyzerServicer(PACK_NAME, "0.1.0", POLICIES, EnforcementLevel.MANDATORY)
    diagnostics = []
    for res in resources:
        request = proto.AnalyzeRequest(type=res.type, properties=_struct(res.inputs), urn=res.urn, name=res.name,
                                       options=proto.AnalyzerResourceOptions(
                                           parent=res.parent, additionalSecretOutputs=res.additional_secret_outputs))
        diagnostics += servicer.Analyze(request, None).diagnostics
    stack_request = proto.AnalyzeStackRequest(resources=[
        proto.AnalyzerResource(type=r.type, properties=_struct(r.outputs), urn=r.urn, name=r.name, parent=r.parent,
                               dependencies=r.dependencies,
                               propertyDependencies={k: proto.AnalyzerPropertyDependencies(urns=v)
                                                     for k, v in r.property_dependencies.items()},
                               options=proto.AnalyzerResourceOptions(
                                   parent=r.parent, additionalSecretOutputs=r.additional_secret_outputs))
        for r in resources])
    diagnostics += servicer.AnalyzeStack(stack_request, None).diagnostics
    got = sorted((d.policyName, d.message.split("\n", 1)[1]) for d in diagnostics)
    assert got == sorted([
        (PROD, "elma365:ha.enabled = false: must be true on a production stack (stack 'prod-eu' matches '^prod')"),
        (JOINS, "elma365-3-add-node must depend on elma365-2-join (joins run one at a time, the first after the "
                "install); it depends on: elma365-1-install"),
    ])
    assert all(d.enforcementLevel == proto.MANDATORY for d in diagnostics)


def test_the_example_policy_config_names_real_policies_and_properties():
    import json
    config = json.loads((ROOT_DIR / "policies" / "policy-config.example.json").read_text())
    by_name = {p.name: p for p in POLICIES}
    for name, value in config.items():
        assert name in by_name, name
        schema = by_name[name].config_schema.properties if by_name[name].config_schema else {}
        assert set(value) - {"enforcementLevel"} <= set(schema), name
    properties = {k: {p: v for p, v in value.items() if p != "enforcementLevel"} for k, value in config.items()}
    assert run_pack(deploy(_pinned(example())), properties) == []
