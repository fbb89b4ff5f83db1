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

LAST_LANDED = "bada185"   # the version the last stop landed (stop 15)
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
    # the settings steps lost their legacy `update` (ADOPT=1) and triggers, and the preflight reads
    # what each node runs: those steps run again, find their settings applied, and change nothing
    lab, report, mark = upgraded
    assert report.ok, report.failures
    # the one change on the servers: every node's MicroK8s refreshes are held (a new step each)
    assert sorted((e.node, e.action) for e in lab.journal(mark)) == [
        (n, "snap refresh --hold microk8s") for n in ("elma365-1", "elma365-2", "elma365-3")]
    ops: dict[str, set[str]] = {}
    for name, op in report.ran():
        ops.setdefault(name, set()).add(op)
    # their triggers gone, the HA steps are replaced (pulumi-command: `triggers` is replaceOnChanges):
    # a create that finds HA applied, and the old step's delete, which has no command
    assert ops["elma365-2-update-hamode"] == {"create-replacement", "delete-replaced"}
    assert ops["reconfigure"] == {"update"} and ops["elma365-1-preflight"] == {"update"}
    assert "already applied here; nothing to do" in printed(report)
    assert "taken over" not in printed(report)   # only elma365:adopt takes anything over
    # no delete that could run a stored `microk8s leave` (no step has one; a replaced step's delete is empty)
    assert not [name for name, op in report.ran() if op == "delete"]
    # a second run with the same config runs nothing at all
    again = lab.up()
    assert again.ok and again.steps == [], again.ran()
