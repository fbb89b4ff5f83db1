"""Golden files: the exact script every step runs, per server, for the stacks and their variants.

    .venv/bin/python -m tests.golden          # compare (what the test does)
    .venv/bin/python -m tests.golden --write  # `make golden`: a deliberate change, reviewed as a diff of shell
    .venv/bin/python -m tests.golden --list   # the sites rendered, and what each adds to its stack

Each step's `create` (and `update`, where it differs) is stored as the bash script the step hands to
the server, under tests/golden/<site>/<server>/<step>[.update].golden (expected output, not code:
one node's script repeats another's), with the command line around it (`sudo -n`, ...) in a first
comment line, and the bastion the step goes through, if any, in the next. The sites are
tests/golden_sites.py's: the example and lab stacks, and their named variants; a variant keeps only
the scripts its base (its stack, or the variant it is `like`) has nowhere, so a changed script
shows in the sites that render it differently, not in every variant. Secrets never appear: they travel on stdin, which is not stored.
"""
from __future__ import annotations

import argparse
import ast
import shlex
import sys
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any, Iterator

from pulumi_command import remote

from tests.golden_sites import VARIANTS, secret_keys, varying_names
from tests.mock_runtime import ROOT_DIR
from tests.sites import cluster_outputs

GOLDEN = ROOT_DIR / "tests" / "golden"
COMPONENTS = ROOT_DIR / "components"
CallSite = tuple[str, int]   # a file under components/ and a line of it


def script_of(command: str, connection: dict[str, Any]) -> str:
    """`[sudo -n ]bash -c '<script>'` -> a file: the command line as a comment, then the script."""
    words = shlex.split(command)
    prefix = " ".join(words[:-1])
    proxy = connection.get("proxy")
    through = f"# through the bastion {proxy['user']}@{proxy['host']}:{int(proxy['port'])}\n" if proxy else ""
    return f"#!/bin/bash\n# run as: {prefix} <this script>\n{through}{words[-1]}"


@dataclass(frozen=True)
class Rendering:
    files: dict[Path, str]       # <server>/<step>[.update].golden: its script
    made_at: dict[str, CallSite]  # each step's name: the call in components/ that made it


def _components_caller() -> CallSite:
    """The innermost frame in components/ outside remote_step.py: the line that asked for the step."""
    frame = sys._getframe(2)
    while frame is not None:
        path = Path(frame.f_code.co_filename)
        if path.is_relative_to(COMPONENTS) and path.name != "remote_step.py":
            return str(path.relative_to(ROOT_DIR)), frame.f_lineno
        frame = frame.f_back
    raise AssertionError("a remote.Command made outside components/")


@contextmanager
def recording_call_sites() -> Iterator[dict[str, CallSite]]:
    made_at: dict[str, CallSite] = {}
    original = remote.Command.__init__

    def init(self, resource_name, *args, **kwargs):
        made_at[resource_name] = _components_caller()
        original(self, resource_name, *args, **kwargs)

    remote.Command.__init__ = init
    try:
        yield made_at
    finally:
        remote.Command.__init__ = original


@lru_cache(maxsize=None)
def render(site: str) -> Rendering:
    """Every step of a site under the mock runtime, after the previous deployment's record, if any."""
    from components.record import Record
    from components.site import parse_site
    from tests.mock_runtime import run_program

    variant = VARIANTS[site]
    values, before = variant.values(), variant.previous_values()
    mocks = cluster_outputs(values["nodes"][0]["address"])
    if before is not None:
        mocks.previous = {"site": Record.of(parse_site(before, secret_keys(before))).to_dict()}
        if variant.certificates:
            mocks.previous["site"]["certificates"] = variant.certificates
    with recording_call_sites() as made_at:
        deployed = run_program(values, secret_keys(values), mocks=mocks)
    files: dict[Path, str] = {}
    for command in deployed.commands:
        connection = command.inputs["connection"]
        server = Path(connection["host"])
        files[server / f"{command.name}.golden"] = script_of(command.inputs["create"], connection)
        update = command.inputs.get("update")
        if update and update != command.inputs["create"]:
            files[server / f"{command.name}.update.golden"] = script_of(update, connection)
    return Rendering(files, dict(made_at))


def rendered(site: str) -> dict[Path, str]:
    """What tests/golden/<site> holds: a stack's every script; a variant's that its base has on no
    server (a balancer moved to another host keeps the same config)."""
    files = render(site).files
    like = VARIANTS[site].base
    base = set() if like == site else {(path.name, text) for path, text in render(like).files.items()}
    return {Path(site) / path: text for path, text in files.items() if (path.name, text) not in base}


def step_calls() -> set[CallSite]:
    """Every call of `step` (components/remote_step.py) in components/: a kind of step the program has.
    A call spans lines; it is named by its first."""
    return {site for site, _ in _calls()}


@lru_cache(maxsize=None)
def _calls() -> tuple[tuple[CallSite, int], ...]:
    """Each call of `step`: where it starts, and its last line."""
    return tuple(((str(path.relative_to(ROOT_DIR)), node.lineno), node.end_lineno)
                 for path in sorted(COMPONENTS.rglob("*.py")) for node in ast.walk(ast.parse(path.read_text()))
                 if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(node.func, "attr", None)) == "step")


def call_of(made_at: CallSite) -> CallSite:
    """The step call (its first line) a frame's line falls in."""
    file, line = made_at
    inside = [site for site, end in _calls() if site[0] == file and site[1] <= line <= end]
    assert len(inside) == 1, f"{file}:{line} is in no single call of step: {inside}"
    return inside[0]


def kind_of(name: str, site: str) -> str:
    """A step's name with the site's node or balancer in it as `*`: elma365-4-drain -> *-drain."""
    variant = VARIANTS[site]
    varying = varying_names(variant.values()) | varying_names(variant.previous_values() or {"nodes": []})
    for part in sorted(varying, key=len, reverse=True):
        name = name.replace(part, "*")
    return name


def differences() -> list[str]:
    problems = []
    stored = {p.relative_to(GOLDEN): p.read_text() for p in GOLDEN.rglob("*.golden")}
    want = {path: text for site in VARIANTS for path, text in rendered(site).items()}
    for path in sorted(set(want) | set(stored)):
        if path not in stored:
            problems.append(f"new: {path}")
        elif path not in want:
            problems.append(f"gone: {path}")
        elif stored[path] != want[path]:
            problems.append(f"changed: {path}")
    return problems


def write() -> None:
    for old in GOLDEN.rglob("*.golden"):
        old.unlink()
    for folder in sorted((p for p in GOLDEN.rglob("*") if p.is_dir()), reverse=True):
        if not any(folder.iterdir()):
            folder.rmdir()
    for site in VARIANTS:
        for path, text in rendered(site).items():
            (GOLDEN / path).parent.mkdir(parents=True, exist_ok=True)
            (GOLDEN / path).write_text(text)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.golden", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write", action="store_true", help="rewrite tests/golden from the program")
    parser.add_argument("--list", action="store_true", help="the sites, and what each one adds to its stack")
    args = parser.parse_args(argv)
    if args.list:
        width = max(map(len, VARIANTS))
        print("\n".join(f"{name:{width}}  {variant.about}" for name, variant in VARIANTS.items()))
        return 0
    if args.write:
        write()
        return 0
    problems = differences()
    print("\n".join(problems) or "golden files match")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
