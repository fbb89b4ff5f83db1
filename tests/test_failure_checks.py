"""A failure check reads what the program said, never the script the provider echoes back.

pulumi-command's error for a failed step holds the whole script (`running "<script>":`) before the
step's own output, so a message written in the script is in the error whatever made the step fail.
tests/lab_support.py is the one place that reads a run's failures and output: said(), refused(),
stopped_at(), preflight_failed() and exit_status() for a failed run, printed() for one that echoed no
script, shown() for the secret searches. This module checks those helpers, and that no test reads
`.failures` or `.output` itself (except in an assertion's message)."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

from lab.command_provider import go_quote
from lab.stack import Report, Step
from tests.lab_support import exit_status, failed_steps, preflight_failed, printed, refused, said, stopped_at

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ('report() { echo "PREFLIGHT elma365-2 $1 $2 $3" >&2; }\n'
          'report memory fail "512 MiB, at least 1 GiB required"\n'
          'echo "ERROR: MicroK8s is not running on elma365-2" >&2\n'
          'echo "quoted \\":\n" in the script"\nexit 1\n')


def failed(step: str, output: str, status: int = 1) -> Report:
    """A run whose `step` failed as pulumi-command reports it (lab/command_provider.py copies the wording)."""
    message = f"Process exited with status {status}: running {go_quote(SCRIPT)}:\n{output}"
    return Report(["pulumi", "up"], 255, [Step(step, "urn", "command:remote:Command", "create", False)],
                  [f"{step}: {message}", "lab-elma365-cluster: update failed"], output="whatever it printed")


def test_what_a_step_said_is_its_own_output_never_its_script():
    report = failed("elma365-2-preflight", "disk full\n")
    assert said(report, "elma365-2-preflight") == "disk full\n"
    assert "MicroK8s is not running" not in said(report) and "PREFLIGHT" not in said(report)
    assert exit_status(report, "elma365-2-preflight") == 1 and failed_steps(report) == ["elma365-2-preflight"]
    with pytest.raises(AssertionError):
        stopped_at(report, "elma365-2-preflight", "MicroK8s is not running on elma365-2")
    with pytest.raises(AssertionError):   # a failed run echoed a script: nothing it printed is read
        printed(report)
    assert preflight_failed(report) == {}


def test_what_a_step_said_is_read_when_it_said_it():
    report = failed("elma365-2-preflight", "PREFLIGHT elma365-2 memory fail 512 MiB, at least 1 GiB required\n"
                    "ERROR: MicroK8s is not running on elma365-2\n", status=3)
    stopped_at(report, "elma365-2-preflight", "MicroK8s is not running on elma365-2")
    assert preflight_failed(report) == {("elma365-2", "memory"): "512 MiB, at least 1 GiB required"}
    assert exit_status(report, "elma365-2-preflight") == 3
    with pytest.raises(AssertionError):   # another step's failure is not this one's
        stopped_at(report, "elma365-3-preflight", "MicroK8s is not running")


def test_an_error_of_the_program_itself_is_said_whole():
    report = Report(["pulumi", "up"], 255, [], ["lab-elma365-cluster: elma365:nodes takes 2 nodes out"])
    assert refused(report) == "elma365:nodes takes 2 nodes out"
    assert refused(Report(["pulumi", "preview"], 255, [], ["preview failed"])) == "preview failed"
    with pytest.raises(AssertionError):   # an echoed script in another wording is never taken as said
        said(Report(["pulumi", "up"], 255, [], ['x-join: exit 1: running "echo hi" (no separator)']))


def reads_of_a_run(path: Path) -> list[str]:
    """`<file>:<line> <attribute>` for each read of a Report's failures or output outside an assert's message."""
    tree = ast.parse(path.read_text())
    allowed = {id(n) for a in ast.walk(tree) if isinstance(a, ast.Assert) and a.msg is not None
               for n in ast.walk(a.msg)}
    return [f"{path.relative_to(ROOT)}:{n.lineno} .{n.attr}" for n in ast.walk(tree)
            if isinstance(n, ast.Attribute) and n.attr in ("failures", "output") and id(n) not in allowed]


def test_no_test_reads_a_runs_failures_or_output_but_through_lab_support():
    modules = [p for p in sorted((ROOT / "tests").glob("*.py")) + sorted((ROOT / "lab" / "tests").glob("*.py"))
               if p.name != "lab_support.py"]
    assert len(modules) > 40
    assert [r for p in modules for r in reads_of_a_run(p)] == []
