"""The lab when things go wrong: an unreachable node, a failing join, an unanswered question.

Each test gets a lab of its own (the lab's addresses are fixed, so one lab at a time)."""
from __future__ import annotations

import shlex

from tests.lab_support import failed_steps, needs_lab, said, stopped_at
from tests.test_lab_scenarios import actions

pytestmark = needs_lab


def test_6_an_unreachable_node_fails_the_run_by_name_and_the_next_run_finishes(new_lab):
    lab = new_lab()
    lab.site.stop_node("elma365-3")
    first = lab.up()
    assert not first.ok
    # only elma365-3's steps failed, each on the address the program gave its connection (the dial
    # error's wording is the provider's: tests/test_provider_conformance.py)
    failed = failed_steps(first)
    assert failed and all(name.startswith("elma365-3-") for name in failed), first.failures
    address = lab.info["nodes"][2]["address"]
    assert all(f"{address}:{lab.info['nodes'][2]['port']}" in said(first, name) for name in failed), first.failures
    done_before = {s.name for s in first.steps if s.ok}
    lab.site.start_node("elma365-3")
    second = lab.up()
    assert second.ok, second.failures
    assert not done_before & {s.name for s in second.steps}, "a step that succeeded ran again"
    assert actions(lab.journal()).count(("elma365-1", "installer")) == 1


def test_7_a_join_that_failed_is_retried_with_a_fresh_token(new_lab):
    lab = new_lab(faults={"join_fail_once": "elma365-2"})
    first = lab.up()
    hint = "get a fresh one with: pulumi up --replace " + shlex.quote(lab.stack.urn("elma365-2-add-node"))
    stopped_at(first, "elma365-2-join", "ERROR: elma365-2 could not join", hint)
    again = lab.up()  # a plain re-run must not present the spent token again
    stopped_at(again, "elma365-2-join", "ERROR: the join token for elma365-2 was already used once", hint)
    retried = lab.up(replace=["elma365-2-add-node"])
    assert retried.ok, retried.failures
    joins = [e for e in lab.journal() if e.node == "elma365-2" and e.action == "join"]
    assert [e.rc for e in joins] == [1, 0]
    tokens = lab.site.state()["tokens"]
    assert len([t for t in tokens.values() if t["used"]]) >= 2  # the spent one and the fresh one


def test_8_an_unanswered_installer_question_fails_naming_it_and_nothing_follows(new_lab):
    lab = new_lab(faults={"installer_extra_question": "Send anonymous usage statistics? [y/N]: "})
    stopped_at(lab.up(), "elma365-1-install",
               'asked a question the site config does not answer: "Send anonymous usage statistics? [y/N]:"')
    after_install = {"add-node", "join", "reconfigure", "update-hamode", "restart"}
    assert not [e for e in lab.journal() if e.action in after_install or e.action.startswith("scale")]
