"""`pulumi up` for the lab, without the Pulumi CLI: NOT part of the program.

Runs the unchanged __main__.py with a stack config under Pulumi's mock runtime; every
`command:remote:Command` it registers is carried out over real SSH by lab.engine, with
pulumi-command's create/update/delete semantics and a JSON state file kept between runs.

    python -m lab.runner up   [--lab DIR] [--stack stacks/Pulumi.lab.yaml] [--state FILE] [--replace NAME|URN]
    python -m lab.runner preview [--lab DIR] [--stack ...] [--replace ...]   # what `up` would run; runs nothing

The lab's own facts (its SSH key, host keys, installer URL) are set on top of the stack file the
way an operator would with `pulumi config set` (the key as a secret).
"""
from __future__ import annotations

import argparse
import copy
import json
import logging
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

from pulumi.runtime import rpc
from pulumi.runtime.proto import resource_pb2
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from lab.engine import Engine, RunReport
from tests.mock_runtime import Outputs, RecordingMonitor, run_program, stack_values
from tests.sites import SECRET_KEYS

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK = ROOT / "stacks" / "Pulumi.lab.yaml"


class EngineMonitor(RecordingMonitor):
    """The mock monitor, with every registration handed to the engine to carry out."""

    def __init__(self, engine: Engine):
        super().__init__(Outputs())
        self.engine = engine

    def RegisterResource(self, request):
        registration = self.describe(request)
        if request.type == "pulumi:pulumi:Stack":
            return resource_pb2.RegisterResourceResponse(urn=registration.urn)
        _ensure_event_loop()
        self.registrations.append(registration)
        outputs = self.engine.register(
            registration.urn, request.type, request.name, request.parent, registration.inputs,
            registration.secret_paths, registration.depends_on, request.additionalSecretOutputs)
        obj = _sync_await(rpc.serialize_properties(outputs, {}))
        return resource_pb2.RegisterResourceResponse(urn=registration.urn, id=f"{request.name}-id", object=obj)


def lab_values(stack_file: Path, lab_info: dict[str, Any], nodes: Optional[int] = None) -> dict[str, Any]:
    """The stack's config plus what `pulumi config set` would add for this lab: its key (a secret),
    the host keys to pin, the installer URL, and the lab's addresses (a lab may sit on 127.<n>.0.x)."""
    values = copy.deepcopy(stack_values(stack_file))
    values["ssh"]["privateKey"] = Path(lab_info["privateKeyPath"]).read_text()
    values["install"]["installerUrl"] = lab_info["installerUrl"]
    lab_nodes = {n["name"]: n for n in lab_info["nodes"]}
    if nodes is not None:
        values["nodes"] = [{"name": n["name"], "address": n["address"], "port": n["port"]}
                           for n in lab_info["nodes"][:nodes]]
    for node in values["nodes"]:
        if node["name"] in lab_nodes:
            node["address"] = lab_nodes[node["name"]]["address"]
            node["hostKey"] = lab_nodes[node["name"]]["hostKey"]
    if values.get("haproxy") and lab_info.get("haproxy"):
        address = lab_info["haproxy"]["address"]
        values["haproxy"]["host"] = address
        values["haproxy"]["bind"] = f"{address}:{values['haproxy']['bind'].rsplit(':', 1)[1]}"
        values["haproxy"]["hostKey"] = lab_info["haproxy"]["hostKey"]
    return values


def hosts_of(values: dict[str, Any]) -> dict[str, str]:
    hosts = {n["address"]: n["name"] for n in values.get("nodes", [])}
    if values.get("haproxy"):
        hosts[values["haproxy"]["host"]] = "haproxy"
    return hosts


def up(values: dict[str, Any], state_path: Path, *, replace: Iterable[str] = (), stack: str = "lab",
       log: Callable[[str], None] = print, multiplex: bool = True, preview: bool = False) -> RunReport:
    """One `pulumi up` (or, with preview, `pulumi preview`: each step that would run is listed with
    `?` after its operation, nothing runs, nothing is stored). Returns what ran; a failed run has
    report.failures (and raises nothing)."""
    engine = Engine(state_path, replace=replace, hosts=hosts_of(values), log=log, multiplex=multiplex and not preview,
                    dry_run=preview)
    # The SDK registers through a thread pool; the engine's pool must not serialise independent steps.
    _ensure_event_loop().set_default_executor(ThreadPoolExecutor(max_workers=64))
    # steps skipped after a failure surface as unretrieved futures; the report says it better
    logging.getLogger("asyncio").setLevel(logging.CRITICAL)
    program_ok = True
    try:
        run_program(values, SECRET_KEYS, stack=stack, monitor=EngineMonitor(engine), preview=preview)
    except Exception as exc:  # the program fails when a step fails; the engine has the details
        program_ok = False
        if not engine.report.failures:
            engine.report.failures.append(f"the program failed: {exc}")
    report = engine.finish(program_ok)
    for failure in report.failures:
        log(f"error: {failure}")
    verb = "would run" if preview else "ran"
    log(f"{'done' if report.ok else 'FAILED'}: {verb} {len(report.steps)} command(s) in {report.seconds:.2f}s")
    return report


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "preview"])
    parser.add_argument("--lab", default="/tmp/elma365-lab", help="the lab directory (python -m lab.site up)")
    parser.add_argument("--stack", default=str(DEFAULT_STACK))
    parser.add_argument("--state", default=None, help="state file (default: <lab>/pulumi-state.json)")
    parser.add_argument("--nodes", type=int, default=None, help="use the lab's first N nodes")
    parser.add_argument("--replace", action="append", default=[], help="resource name or URN to replace")
    args = parser.parse_args(argv)
    lab_info = json.loads((Path(args.lab) / "site.json").read_text())
    values = lab_values(Path(args.stack), lab_info, args.nodes)
    state = Path(args.state) if args.state else Path(args.lab) / "pulumi-state.json"
    report = up(values, state, replace=args.replace, preview=args.command == "preview")
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
