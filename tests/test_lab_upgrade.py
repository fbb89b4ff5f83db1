"""An upgrade of this program on a running cluster: the site deployed by the last landed version
(LAST_LANDED below, the program's files taken from git), then `pulumi up` with this version and the
same config. It must run no vendor tool that changes anything; what it does run is listed here."""
from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from lab.harness import Lab
from lab.stack import ROOT
from tests.lab_support import FAST, needs_lab, printed

pytestmark = needs_lab

LAST_LANDED = "dea5fb2"   # the version the last stop landed (stop 28)
PROGRAM = ("Pulumi.yaml", "__main__.py", "components")


def landed_program(into, version: str = LAST_LANDED) -> None:
    archive = subprocess.run(["git", "-C", str(ROOT), "archive", "--format=tar", version, *PROGRAM],
                             capture_output=True, check=True).stdout
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        tar.extractall(into)


def use_program(lab: Lab, folder) -> None:
    for name in PROGRAM:
        link = lab.stack.project / name
        link.unlink()
        link.symlink_to(folder / name)


@pytest.fixture
def upgraded(tmp_path):
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", LAST_LANDED], capture_output=True).returncode:
        pytest.skip(f"this clone does not have {LAST_LANDED}")
    landed_program(tmp_path / "landed")
    lab = Lab(tmp_path / "lab", nodes=3, durations=FAST)
    try:
        use_program(lab, tmp_path / "landed")
        first = lab.up()
        assert first.ok, first.failures
        use_program(lab, ROOT)
        mark = lab.mark()
        yield lab, lab.up(), mark
    finally:
        lab.down()


def test_an_upgrade_from_the_last_landed_version_runs_no_vendor_tool(upgraded):
    # every step that embeds the quorum gate or the node facts (both now read the real datastore)
    # and the preflight (its `datastore` check) runs again: each finds its work applied
    lab, report, mark = upgraded
    assert report.ok, report.failures
    assert lab.journal(mark) == []           # no vendor call that changes anything, on any node
    ops: dict[str, set[str]] = {}
    for name, op in report.ran():
        ops.setdefault(name, set()).add(op)
    assert {op for each in ops.values() for op in each} == {"update"}, ops    # nothing created, replaced or deleted
    assert {"elma365-1-preflight", "elma365-2-join", "elma365-3-update-hamode", "reconfigure", "restart"} <= set(ops)
    assert "taken over" not in printed(report)   # only elma365:adopt takes anything over
    # a second run with the same config runs nothing at all
    again = lab.up()
    assert again.ok and again.steps == [], again.ran()
