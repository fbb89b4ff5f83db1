"""Measures the lab: commands per scenario, and a fresh deploy's wall time against its critical path.

    python -m lab.measure [--nodes 3] [--nodes 10] [--lab DIR] [--out FILE.json]

The simulator's steps get fixed durations (FIXED below). The critical path is what the manual
forces to be serial: install, then for each further node add-node + join, then scaling,
reconfigure, update-hamode on every node one at a time, restart; its length is the sum of those
steps' durations as the simulator's journal measured them on the nodes. Everything else (node
preparation, HAProxy) must overlap it, so wall time / critical path near 1 means the program adds
no serialisation of its own; what remains is SSH and shell overhead per step.
"""
from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path

from tests.lab_support import Lab

FIXED = {"install": 3.0, "add_node": 0.5, "join": 1.0, "scale": 0.5, "reconfigure": 1.0,
         "update_hamode": 1.0, "restart": 1.0, "snap_install": 1.0, "token_ttl": 600}
SERIAL = ("installer", "add-node", "join", "reconfigure", "update-hamode", "restart")


def critical_path(entries) -> float:
    """The manual's serial steps, as long as the simulated tools took on the nodes."""
    return sum(e.end - e.start for e in entries
               if e.action in SERIAL or e.action.startswith("scale "))


def serial_steps(report) -> float:
    """The same chain as whole program steps (SSH session, the step's own checks, the tool),
    behind the slowest node's preflight, which the install waits for."""
    chain = ("-install", "-add-node", "-join", "-reconfigure", "-update-hamode")
    preflight = [s.ended - s.started for s in report.steps if s.name.endswith("-preflight")]
    return max(preflight, default=0.0) + sum(
        s.ended - s.started for s in report.steps
        if s.name.endswith(chain) or s.name.startswith("scale-") or s.name == "restart")


def scenario_counts(directory: Path) -> dict[str, dict[str, int]]:
    """Commands run by the engine, and vendor tool calls on the nodes, per scenario."""
    lab = Lab(directory, nodes=4, durations={"token_ttl": 600})
    results = {}
    try:
        base = copy.deepcopy(lab.values)
        scaled = copy.deepcopy(base)
        scaled["scaling"]["replicas"]["main"] = 3
        grown = copy.deepcopy(scaled)
        grown["nodes"] = lab.node_values(4)["nodes"]
        for name, values in (("fresh", base), ("no-op", base), ("scale main 2 -> 3", scaled),
                             ("add node 4", grown), ("remove node 4", scaled)):
            mark = lab.mark()
            report = lab.up(values)
            assert report.ok, report.failures
            results[name] = {"commands": len(report.steps), "vendor tool calls": len(lab.journal(mark)),
                             "all tool calls (with checks)": len(lab.journal(mark, with_checks=True))}
    finally:
        lab.down()
    return results


def fresh_deploy_ratio(directory: Path, nodes: int, multiplex: bool = True) -> dict[str, float]:
    lab = Lab(directory, nodes=nodes, durations=FIXED)
    try:
        values = lab.node_values(nodes)
        values = {**copy.deepcopy(lab.values), "nodes": values["nodes"]}
        started = time.time()
        report = lab.up(values, multiplex=multiplex)
        wall = time.time() - started
        assert report.ok, report.failures
        path = critical_path(lab.journal())
        steps = serial_steps(report)
    finally:
        lab.down()
    return {"nodes": nodes, "wall seconds": round(wall, 2), "critical path seconds": round(path, 2),
            "ratio": round(wall / path, 3), "serial program steps seconds": round(steps, 2),
            "scheduling ratio": round(wall / steps, 3), "commands": len(report.steps)}


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.measure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="/tmp/elma365-lab-measure")
    parser.add_argument("--nodes", type=int, action="append", help="fresh-deploy sizes (default 3 and 10)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-counts", action="store_true")
    parser.add_argument("--no-multiplex", action="store_true", help="a new SSH connection per command")
    args = parser.parse_args()
    out = {"durations": FIXED}
    if not args.skip_counts:
        out["scenarios"] = scenario_counts(Path(args.lab))
        for name, counts in out["scenarios"].items():
            print(f"{name:<20} {counts}")
    out["fresh deploy"] = []
    for nodes in args.nodes or [3, 10]:
        result = fresh_deploy_ratio(Path(args.lab), nodes, multiplex=not args.no_multiplex)
        out["fresh deploy"].append(result)
        print(f"fresh deploy {result}")
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
