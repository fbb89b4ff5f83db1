"""Golden files: the exact script every step runs, per server, for the example and the lab stacks.

    .venv/bin/python -m tests.golden          # compare (what the test does)
    .venv/bin/python -m tests.golden --write  # `make golden`: a deliberate change, reviewed as a diff of shell

Each step's `create` (and `update`, where it differs) is stored as the bash script the step hands to
the server, under tests/golden/<stack>/<server>/<step>[.update].golden (expected output, not code:
one node's script repeats another's), with the command line around it (`sudo -n`, ...) in a first
comment line. Secrets never appear: they travel on stdin, which is not stored.
"""
from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from tests.mock_runtime import ROOT_DIR, stack_values
from tests.sites import SECRET_KEYS, TEST_KEY, cluster_outputs

GOLDEN = ROOT_DIR / "tests" / "golden"
STACKS = ("example", "lab")


def script_of(command: str) -> str:
    """`[sudo -n ]bash -c '<script>'` -> a file: the command line as a comment, then the script."""
    words = shlex.split(command)
    prefix = " ".join(words[:-1])
    return f"#!/bin/bash\n# run as: {prefix} <this script>\n{words[-1]}"


def rendered(stack: str) -> dict[Path, str]:
    from tests.mock_runtime import run_program

    values = stack_values(ROOT_DIR / "stacks" / f"Pulumi.{stack}.yaml")
    values["ssh"]["privateKey"] = TEST_KEY
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs(values["nodes"][0]["address"]))
    files: dict[Path, str] = {}
    for command in deployed.commands:
        server = command.inputs["connection"]["host"]
        files[Path(stack) / server / f"{command.name}.golden"] = script_of(command.inputs["create"])
        update = command.inputs.get("update")
        if update and update != command.inputs["create"]:
            files[Path(stack) / server / f"{command.name}.update.golden"] = script_of(update)
    return files


def differences() -> list[str]:
    problems = []
    for stack in STACKS:
        want = rendered(stack)
        have = {p.relative_to(GOLDEN): p.read_text() for p in (GOLDEN / stack).rglob("*.golden")}
        for path in sorted(set(want) | set(have)):
            if path not in have:
                problems.append(f"new: {path}")
            elif path not in want:
                problems.append(f"gone: {path}")
            elif have[path] != want[path]:
                problems.append(f"changed: {path}")
    return problems


def write() -> None:
    for stack in STACKS:
        for old in (GOLDEN / stack).rglob("*.golden"):
            old.unlink()
        for path, text in rendered(stack).items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite tests/golden from the program")
    args = parser.parse_args(argv)
    if args.write:
        write()
        return 0
    problems = differences()
    print("\n".join(problems) or "golden files match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
