"""Runs the unchanged __main__.py under Pulumi's mock runtime and records what it registers.

For every resource: type, name, parent, the URNs it depends on (what the engine would order by),
its inputs as plain values, and which input properties are secret. `new_resource` may be
overridden to give resources outputs."""
from __future__ import annotations

import json
import os
import runpy
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Optional

import pulumi
import pulumi.runtime
import yaml
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.settings import ROOT, SETTINGS
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

ROOT_DIR = Path(__file__).resolve().parent.parent
SECRET_SIG = ("4dabf18193072939515e22adb298388d", "1b47061264138c4ac30d75fd1eb44270")
PROJECT = "elma365-cluster"


def unwrap(value: Any, path: str = "") -> tuple[Any, set[str]]:
    """Plain value plus the paths of secret parts, from a serialized property value."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG[0]) == SECRET_SIG[1]:
            plain, inner = unwrap(value.get("value"), path)
            return plain, {path} | inner
        out, secrets = {}, set()
        for k, v in value.items():
            out[k], s = unwrap(v, f"{path}.{k}" if path else k)
            secrets |= s
        return out, secrets
    if isinstance(value, list):
        out_list, secrets = [], set()
        for i, v in enumerate(value):
            item, s = unwrap(v, f"{path}[{i}]")
            out_list.append(item)
            secrets |= s
        return out_list, secrets
    return value, set()


@dataclass
class Registration:
    urn: str
    type: str
    name: str
    parent: str
    depends_on: set[str]
    inputs: dict[str, Any]
    secret_paths: set[str]
    custom: bool
    options: dict[str, Any] = field(default_factory=dict)

    def is_secret(self, prop: str) -> bool:
        return any(p == prop or p.startswith(prop + ".") or p.startswith(prop + "[") for p in self.secret_paths)


class RecordingMonitor(pulumi_mocks.MockMonitor):
    def __init__(self, mocks: pulumi_mocks.Mocks):
        super().__init__(mocks)
        self.registrations: list[Registration] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """As the engine makes it: the parent's whole type chain (the stack's own type left out),
        not only the parent's type as the SDK's mock does; `make verify` and the policies rely on it."""
        if parent:
            chain = parent.split("::")[2]
            if chain != "pulumi:pulumi:Stack":
                type_ = f"{chain}${type_}"
        return super().make_urn("", type_, name)

    def describe(self, request) -> Registration:
        deps = set(request.dependencies)
        for prop in request.propertyDependencies.values():
            deps |= set(prop.urns)
        inputs, secrets = unwrap(json_format.MessageToDict(request.object))
        return Registration(
            urn=self.make_urn(request.parent, request.type, request.name), type=request.type, name=request.name,
            parent=request.parent, depends_on=deps, inputs=inputs, secret_paths=secrets, custom=request.custom,
            options={"additionalSecretOutputs": list(request.additionalSecretOutputs),
                     "replaceOnChanges": list(request.replaceOnChanges),
                     "ignoreChanges": list(request.ignoreChanges),
                     "aliases": [json_format.MessageToDict(a) for a in request.aliases] + list(request.aliasURNs)})

    def RegisterResource(self, request):
        response = super().RegisterResource(request)
        self.registrations.append(self.describe(request))
        return response


class Outputs(pulumi_mocks.Mocks):
    """Default mock outputs: a Command's outputs are its inputs plus stdout/stderr; the stack's own
    previous outputs (read back through a StackReference) are `previous` (none: a new stack)."""

    def __init__(self, stdout: Optional[Callable[[pulumi_mocks.MockResourceArgs], str]] = None,
                 previous: Optional[dict[str, Any]] = None):
        self.stdout = stdout
        self.previous = previous or {}

    def new_resource(self, args: pulumi_mocks.MockResourceArgs):
        if args.typ == "pulumi:pulumi:StackReference":
            return f"{args.name}-id", {"name": args.inputs.get("name"), "outputs": dict(self.previous),
                                       "secretOutputNames": []}
        outputs = dict(args.inputs)
        if args.typ == "command:remote:Command":
            outputs["stdout"] = self.stdout(args) if self.stdout else ""
            outputs["stderr"] = ""
        return f"{args.name}-id", outputs

    def call(self, args: pulumi_mocks.MockCallArgs):
        return {}


@dataclass
class Deployment:
    registrations: list[Registration]
    exports: dict[str, Any]

    @property
    def commands(self) -> list[Registration]:
        return [r for r in self.registrations if r.type == "command:remote:Command"]

    @property
    def names(self) -> list[str]:
        return [r.name for r in self.commands]

    def command(self, name: str) -> Registration:
        found = [r for r in self.commands if r.name == name]
        assert len(found) == 1, f"expected one command {name!r}, found {[r.name for r in self.commands]}"
        return found[0]

    def by_urn(self, urn: str) -> Registration:
        return next(r for r in self.registrations if r.urn == urn)

    def depends(self, name: str, on: str) -> bool:
        """Direct dependency edge between two commands (the engine orders by these)."""
        return self.command(on).urn in self.command(name).depends_on

    def reaches(self, name: str, on: str) -> bool:
        """Transitive: `name` cannot start before `on` has finished."""
        target = self.command(on).urn
        seen, todo = set(), [self.command(name).urn]
        while todo:
            urn = todo.pop()
            for dep in self.by_urn(urn).depends_on if any(r.urn == urn for r in self.registrations) else ():
                if dep == target:
                    return True
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return False


def stack_values(stack_file: Path) -> dict[str, Any]:
    """The `elma365:*` values of a stack file (stacks/Pulumi.<site>.yaml), keys without the namespace."""
    config = yaml.safe_load(Path(stack_file).read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("elma365:")}


def config_strings(values: dict[str, Any]) -> dict[str, str]:
    return {f"elma365:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()}


def run_program(values: dict[str, Any], secret_keys: set[str] = frozenset(), *, stack: str = "test",
                mocks: Optional[pulumi_mocks.Mocks] = None, preview: bool = False,
                registered: Optional[list[Registration]] = None,
                monitor: Optional[RecordingMonitor] = None) -> Deployment:
    """Run __main__.py with the given `elma365:*` config; raises what the program raises.

    `registered`, when given, receives the registrations even when the program fails."""
    monitor = monitor or RecordingMonitor(mocks or Outputs())
    if registered is not None:
        monitor.registrations = registered
    ROOT.set(None)
    # a previous run in this process may have left failed RPCs behind: start clean, as a new process would
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    pulumi.runtime.set_mocks(monitor.mocks, project=PROJECT, stack=stack, preview=preview, monitor=monitor)
    # as the language host does (pulumi-language-python-exec): the whole config in PULUMI_CONFIG, and set_all_config
    config = config_strings(values)
    pulumi.runtime.set_all_config(config, [f"elma365:{k}" for k in secret_keys])
    env_before = os.environ.get("PULUMI_CONFIG")
    os.environ["PULUMI_CONFIG"] = json.dumps(config)
    exports: dict[str, Any] = {}
    original_export = pulumi.export

    def export(name: str, value: Any) -> None:
        exports[name] = value
        original_export(name, value)

    pulumi.export = export
    try:
        _sync_await(run_pulumi_func(lambda: runpy.run_path(str(ROOT_DIR / "__main__.py"), run_name="__main__")))
    finally:
        pulumi.export = original_export
        if env_before is None:
            os.environ.pop("PULUMI_CONFIG", None)
        else:
            os.environ["PULUMI_CONFIG"] = env_before
    return Deployment(monitor.registrations, exports)
