"""Helpers for the lab tests: whether the lab can run here, the short simulated durations, and what
a run printed or said when it failed (the only way a test reads that: tests/test_failure_checks.py checks)."""
from __future__ import annotations

import os
import re
import shutil
from typing import Optional

import pytest

from components.render.preflight import parse_report
from lab import toolchain


def site_available() -> Optional[str]:
    """Why a lab site (its hosts and the simulator, without Pulumi) cannot run here; None when it can."""
    if os.geteuid() != 0:
        return "the lab needs root (sshd per node in its own mount namespace)"
    for tool in ("/usr/sbin/sshd", "expect", "ssh", "unshare", "haproxy"):
        if not (os.path.exists(tool) or shutil.which(tool)):
            return f"{tool} is missing (make test installs it)"
    return None


def lab_available() -> Optional[str]:
    return site_available() or toolchain.missing()


needs_lab = pytest.mark.skipif(lab_available() is not None, reason=lab_available() or "")
# a lab site without the program (lab/by_hand.py builds its cluster over plain ssh, no Pulumi)
needs_site = pytest.mark.skipif(site_available() is not None, reason=site_available() or "")

# Simulated tool durations short enough for many labs per run; a test that measures order gives its own.
FAST = {"install": 0.3, "join": 0.2, "update_hamode": 0.2, "token_ttl": 600}


def engine_order(lab) -> list[tuple[str, str]]:
    """("start" | "done" | "failed", step) in the order the engine recorded them during the lab's
    last run (its event log): a step that starts after another is done depends on it or came later."""
    from lab.stack import read_events

    order = []
    for event in read_events(lab.stack.workdir / f"events-{lab.stack.runs}.jsonl"):
        for kind, said_as in (("resourcePreEvent", "start"), ("resOutputsEvent", "done"), ("resOpFailedEvent", "failed")):
            if kind in event:
                meta = event[kind]["metadata"]
                if meta.get("type") == "command:remote:Command":
                    order.append((said_as, meta["urn"].rsplit("::", 1)[-1]))
    return order


def with_rotated_key(lab) -> dict:
    """The lab's stack values with a new SSH key, authorized on every host first (the lab's hosts
    share one authorized_keys file), as the runbook "Rotate the SSH key" does."""
    import copy
    import subprocess
    from pathlib import Path

    new_key = Path(lab.info["privateKeyPath"]).parent / "id_ed25519_rotated"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(new_key)], check=True)
    with open(lab.info["publicKeyPath"], "a") as authorized:
        authorized.write(new_key.with_suffix(".pub").read_text())
    values = copy.deepcopy(lab.values)
    values["ssh"]["privateKey"] = new_key.read_text()
    return values


# ---------------------------------------------------------------- what a run said

# A failed step's error, as pulumi-command words it (lab/command_provider.py copies it):
#   <exit status>: running "<the whole script, Go-quoted on one line>":\n<the step's own output>
# The script is echoed whole, so a message written in the script is in the error whatever made the
# step fail. Only what follows the separator is what the program said on the server.
ECHOED_SCRIPT = re.compile(r'running "(?:[^"\\\n]|\\.)*":\n')
EXIT_STATUS = re.compile(r"Process exited with status (\d+)")
STEP_NAMED = re.compile(r"([\w.-]+): ")   # lab/stack.py: "<resource name>: <message>", else the message alone


def _split(failure: str) -> tuple[str, Optional[int], str]:
    """(step, exit status, what the program said) of one of Report.failures ("<step>: <message>").
    An error without an echoed script (the program's own check, the engine's, an SSH dial) is said
    whole; its exit status is None."""
    named = STEP_NAMED.match(failure)
    step, message = (named.group(1), failure[named.end():]) if named else ("", failure)
    echoed = ECHOED_SCRIPT.search(message)
    if not echoed:
        # a step's error worded otherwise would hand its script back as what the program said
        assert 'running "' not in message, f"the provider's error is worded otherwise now: {message[:300]}"
        return step, None, message
    status = EXIT_STATUS.search(message[:echoed.start()])
    return step, int(status.group(1)) if status else None, message[echoed.end():]


def said(report, step: Optional[str] = None) -> str:
    """What the program said in a failed run: each failed step's own output (never its script), and
    the program's own errors; only `step`'s when given."""
    return "\n".join(text for name, _, text in map(_split, report.failures) if step is None or name == step)


def exit_status(report, step: str) -> Optional[int]:
    """The exit status the failed `step` reported (None: it did not fail by an exit status)."""
    return next((status for name, status, _ in map(_split, report.failures) if name == step), None)


def failed_steps(report) -> list[str]:
    """The steps whose operation failed, as the engine recorded them."""
    return [s.name for s in report.steps if not s.ok]


def stopped_at(report, step: str, *messages: str) -> None:
    """The run failed, at `step`, which said each of `messages` (on the server, not in its script)."""
    assert not report.ok
    assert step in failed_steps(report), report.failures
    text = said(report, step)
    assert all(m in text for m in messages), (messages, text)


def refused(report, step: Optional[str] = None) -> str:
    """What a failed run said (`step`'s only, when given); the run must have failed."""
    assert not report.ok, "the run succeeded"
    return said(report, step)


def preflight_failed(report) -> dict[tuple[str, str], str]:
    """{(node, check): detail} of the `PREFLIGHT <node> <check> fail <detail>` lines the preflight printed."""
    return {(r["node"], r["check"]): r["detail"] for r in parse_report(said(report)) if r["status"] == "fail"}


def printed(report) -> str:
    """What a run that echoed no script printed: one that succeeded, or a preview (it runs no step)."""
    assert report.ok or report.argv[1:2] == ["preview"], report.failures
    return report.output


def shown(report) -> dict[str, str]:
    """All a run showed, by place, the echoed scripts too: where a secret must not be."""
    return {"the CLI's output": report.output, "the report's failures": "\n".join(report.failures)}
