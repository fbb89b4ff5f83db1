"""`pulumi up` / `preview` / `destroy` for the lab, with the real Pulumi CLI: NOT part of the program.

    python -m lab.runner up      [--lab DIR] [--stack stacks/Pulumi.lab.yaml] [--nodes N] [--replace NAME|URN]
    python -m lab.runner preview [--lab DIR] ...
    python -m lab.runner destroy [--lab DIR] ...

The lab's stack lives in <lab>/stack (project links, its own stacks/ folder, a file backend and
PULUMI_HOME; see lab/stack.py). The lab's own facts (its SSH key, host keys, installer URL,
addresses) are set on top of the stack file the way an operator would: plain values in the stack
file, the key with `pulumi config set --secret --path 'elma365:ssh.privateKey'`.
"""
from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path
from typing import Any, Optional

import yaml

from lab import toolchain
from lab.stack import PulumiStack, Report

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STACK = ROOT / "stacks" / "Pulumi.lab.yaml"


def stack_values(stack_file: Path) -> dict[str, Any]:
    """The `elma365:*` values of a stack file (stacks/Pulumi.<site>.yaml), keys without the namespace."""
    config = yaml.safe_load(Path(stack_file).read_text())["config"]
    return {k.split(":", 1)[1]: v for k, v in config.items() if k.startswith("elma365:")}


def lab_values(stack_file: Path, lab_info: dict[str, Any], nodes: Optional[int] = None) -> dict[str, Any]:
    """The stack's config plus what an operator would set for this lab: its key, the host keys to
    pin, the installer URL, and the lab's addresses (a lab may sit on 127.<n>.0.x)."""
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
    if values.get("haproxy") and lab_info.get("balancers"):
        # two or more balancers on the lab's bridge, one virtual IP between them
        h = values["haproxy"]
        for key in ("host", "port", "hostKey"):
            h.pop(key, None)
        h["hosts"] = [{"host": b["address"], "port": b["port"], "hostKey": b["hostKey"]} for b in lab_info["balancers"]]
        h["bind"] = "*:" + h["bind"].rsplit(":", 1)[1]
        h["virtualIp"] = lab_info["virtualIp"]
        h["keepalived"] = {"interface": lab_info["vrrpInterface"], "reloadCommand": "lab-keepalived-reload"}
    elif values.get("haproxy") and lab_info.get("haproxy"):
        address = lab_info["haproxy"]["address"]
        values["haproxy"]["host"] = address
        values["haproxy"]["bind"] = f"{address}:{values['haproxy']['bind'].rsplit(':', 1)[1]}"
        values["haproxy"]["hostKey"] = lab_info["haproxy"]["hostKey"]
    return values


def lab_stack(lab_dir: Path, stack: str = "lab") -> PulumiStack:
    pulumi_stack = PulumiStack(Path(lab_dir) / "stack", stack)
    pulumi_stack.init()
    return pulumi_stack


def print_report(report: Report, verb: str) -> None:
    for step in report.steps:
        status = "planned" if verb == "would run" else ("ok" if step.ok else "FAILED")
        print(f"  {step.name:<32} {step.op:<18} {status}")
    for failure in report.failures:
        print(f"error: {failure}")
    print(f"{'done' if report.ok else 'FAILED'}: {verb} {len(report.steps)} command(s) in {report.seconds:.2f}s")


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.runner", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["up", "preview", "destroy"])
    parser.add_argument("--lab", default="/tmp/elma365-lab", help="the lab directory (python -m lab.site up)")
    parser.add_argument("--stack", default=str(DEFAULT_STACK))
    parser.add_argument("--nodes", type=int, default=None, help="use the lab's first N nodes")
    parser.add_argument("--replace", action="append", default=[], help="resource name or URN to replace")
    parser.add_argument("--verbose", action="store_true", help="print the CLI's own output too")
    args = parser.parse_args(argv)
    lab_info = json.loads((Path(args.lab) / "site.json").read_text())
    print(f"toolchain: {toolchain.describe()}")
    pulumi_stack = lab_stack(Path(args.lab))
    pulumi_stack.configure(lab_values(Path(args.stack), lab_info, args.nodes))
    if args.command == "up":
        report, verb = pulumi_stack.up(replace=args.replace), "ran"
    elif args.command == "preview":
        report, verb = pulumi_stack.preview(), "would run"
    else:
        report, verb = pulumi_stack.destroy(), "ran"
    if args.verbose or not report.ok:
        print(report.output)
    print_report(report, verb)
    return 0 if report.ok else 1


if __name__ == "__main__":
    sys.exit(main())
