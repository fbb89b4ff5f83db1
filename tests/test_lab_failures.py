"""The lab when things go wrong: an unreachable node, a failing join, an unanswered question.

Each test gets a lab of its own (the lab's addresses are fixed, so one lab at a time)."""
from __future__ import annotations

import re

from tests.lab_support import needs_lab
from tests.test_lab_scenarios import actions

pytestmark = needs_lab


def test_6_an_unreachable_node_fails_the_run_by_name_and_the_next_run_finishes(new_lab):
    lab = new_lab()
    lab.site.stop_node("elma365-3")
    first = lab.up()
    assert not first.ok
    address = lab.info["nodes"][2]["address"]
    # the engine names the failed step, its node in the name; pulumi-command's error names the address
    # after its default 10 retries
    assert any(re.fullmatch(rf"elma365-3-[a-z0-9-]+: after 10 failed attempts: dial tcp {re.escape(address)}:2222: "
                            r"connect: connection refused", f) for f in first.failures), first.failures
    done_before = {s.name for s in first.steps if s.ok}
    lab.site.start_node("elma365-3")
    second = lab.up()
    assert second.ok, second.failures
    assert not done_before & {s.name for s in second.steps}, "a step that succeeded ran again"
    assert actions(lab.journal()).count(("elma365-1", "installer")) == 1


def test_7_a_join_that_failed_is_retried_with_a_fresh_token(new_lab):
    lab = new_lab(faults={"join_fail_once": "elma365-2"})
    first = lab.up()
    assert not first.ok
    assert any("elma365-2-join" in f and "pulumi up --replace" in f for f in first.failures), first.failures
    again = lab.up()  # a plain re-run must not present the spent token again
    assert not again.ok and any("already used once" in f for f in again.failures), again.failures
    retried = lab.up(replace=["elma365-2-add-node"])
    assert retried.ok, retried.failures
    joins = [e for e in lab.journal() if e.node == "elma365-2" and e.action == "join"]
    assert [e.rc for e in joins] == [1, 0]
    tokens = lab.site.state()["tokens"]
    assert len([t for t in tokens.values() if t["used"]]) >= 2  # the spent one and the fresh one


def test_8_an_unanswered_installer_question_fails_naming_it_and_nothing_follows(new_lab):
    lab = new_lab(faults={"installer_extra_question": "Send anonymous usage statistics? [y/N]: "})
    report = lab.up()
    assert not report.ok
    assert any('asked a question the site config does not answer: "Send anonymous usage statistics? [y/N]:"' in f
               for f in report.failures), report.failures
    after_install = {"add-node", "join", "reconfigure", "update-hamode", "restart"}
    assert not [e for e in lab.journal() if e.action in after_install or e.action.startswith("scale")]
