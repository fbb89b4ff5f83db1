"""An upgrade of this program on a running cluster: the site deployed by the last landed version
(LANDED below, the program's files taken from git), then `pulumi up` with this version and the
same config. It must run no vendor tool that changes anything; what it does run is listed here."""
from __future__ import annotations

import io
import subprocess
import tarfile

import pytest

from lab.harness import Lab
from lab.stack import ROOT
from tests.lab_support import FAST, needs_lab

pytestmark = needs_lab

LANDED = "4f6120d"   # the last version that landed before the day-2 work (stop 8)
LAST_LANDED = "af5c5fb"   # the version the last stop landed (stop 14)
PROGRAM = ("Pulumi.yaml", "__main__.py", "components")


def landed_program(into, version: str = LANDED) -> None:
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
def upgraded(tmp_path, request):
    version = getattr(request, "param", LANDED)
    if subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e", version], capture_output=True).returncode:
        pytest.skip(f"this clone does not have {version}")
    landed_program(tmp_path / "landed", version)
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


def test_an_upgrade_to_this_version_runs_no_vendor_tool(upgraded):
    lab, report, mark = upgraded
    assert report.ok, report.failures
    changes = [(e.node, e.action) for e in lab.journal(mark)]
    # the one change on a server: HAProxy's config is rendered anew (hardened global, logging), so
    # HAProxy reloads once, gracefully; no ELMA365 or MicroK8s tool that changes anything runs
    assert changes == [], changes
    ran = dict(report.ran())
    assert "HAProxy config applied and reloaded" in report.output
    assert ran["haproxy-config"] == "update" and ran["elma365-1-microk8s-channel"] == "create"
    # the steps that were there are updated (their scripts changed), not replaced: no create of a
    # step that would apply without adopting, and no delete that could run a stored `microk8s leave`
    assert not [name for name, op in report.ran() if op in ("create-replacement", "delete-replaced", "delete")]
    # a second run with the same config runs nothing at all
    again = lab.up()
    assert again.ok and again.steps == [], again.ran()


@pytest.mark.parametrize("upgraded", [LAST_LANDED], indirect=True)
def test_an_upgrade_from_the_last_landed_version_runs_nothing(upgraded):
    # scripts moved into files render byte-identical commands, and a single balancer keeps its
    # step names and its record: Pulumi finds no step whose inputs changed
    lab, report, mark = upgraded
    assert report.ok, report.failures
    assert report.ran() == [] and lab.journal(mark) == []
