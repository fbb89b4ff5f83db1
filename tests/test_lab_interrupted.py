"""An operator's `pulumi up` interrupted (Ctrl-C, then the machine running it killed) in the middle
of the install and in the middle of the joins. The runbook (docs/day2.md, "An interrupted pulumi up"):
`pulumi cancel` (the state backend keeps the dead run's lock), then `pulumi up` again. The next
run converges without running the installer twice and without joining a joined node again."""
from __future__ import annotations

from pathlib import Path


from lab.harness import Lab
from tests.lab_support import needs_lab, refused

pytestmark = needs_lab


def runs_dir(lab: Lab, node: str) -> Path:
    return Path(lab.info["labDir"]) / "nodes" / node / "var" / "lib" / "elma365-cluster" / "runs"


def interrupted_then_resumed(lab: Lab, under_way: Path):
    """Ctrl-C once `under_way` exists (the step's tool is running), SIGKILL a second later; then
    the runbook: pulumi cancel, pulumi up."""
    lab.stack.configure(lab.values)
    first = lab.stack.up(interrupt_when=under_way.exists, kill_after=1.0)
    assert not first.ok  # killed
    assert "the stack is currently locked" in refused(lab.stack.up())  # the dead run's lock
    assert lab.stack.cancel().returncode == 0
    return lab.up()


def converged_once(lab: Lab, resumed) -> None:
    """Every node a member, the installer run once, each node joined once and successfully."""
    assert resumed.ok, resumed.failures
    journal = lab.journal()
    assert [e.action for e in journal].count("installer") == 1
    assert sorted((e.node, e.rc) for e in journal if e.action == "join") == [("elma365-2", 0), ("elma365-3", 0)]
    assert sorted(lab.site.state()["members"]) == ["elma365-1", "elma365-2", "elma365-3"]


def test_an_up_killed_during_the_install_converges_with_one_installer_run(new_lab):
    lab = new_lab(durations={"install": 4, "join": 0.2, "update_hamode": 0.2, "token_ttl": 600})
    converged_once(lab, interrupted_then_resumed(lab, runs_dir(lab, "elma365-1") / "installer.exp"))


def test_an_up_killed_during_a_join_converges_without_a_second_join(new_lab):
    lab = new_lab(durations={"install": 0.3, "join": 3, "update_hamode": 0.2, "token_ttl": 600})
    converged_once(lab, interrupted_then_resumed(lab, runs_dir(lab, "elma365-2") / "join.log"))
