"""A lost quorum told apart from a stopped MicroK8s and an unreachable node: the preflight's
`datastore` check over the quorum facts (run by bash on this machine), and `make verify`'s rows.
The facts themselves are read from real dqlite in the lab (tests/test_lab_lost_quorum.py)."""
from __future__ import annotations

import socket
import subprocess

from components.facts.microk8s import parse_quorum
from components.facts.node import datastore_probe
from components.facts.sections import HostOutput, Section
from components.render.preflight import parse_report, quorum_check
from components.render.template import Text, fill
from components.site import parse_site
from components.verify.checks import DRIFT, OK, compare
from tests.sites import SECRET_KEYS, example

A, B, C = "192.168.1.51:19001", "192.168.1.52:19001", "192.168.1.53:19001"


def check(quorum: str, voters: str, dqlite: str) -> tuple[dict[str, str], int]:
    """The datastore check of elma365-1 over these facts: its PREFLIGHT line, and the exit status."""
    script = "\n".join([fill("preflight-report.sh", node_text=Text("elma365-1")),
                        f"quorum={quorum}; voters='{voters}'; dqlite={dqlite}",
                        quorum_check("elma365-1"), fill("preflight-verdict.sh")])
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    return next(r for r in parse_report(done.stdout) if r["check"] == "datastore"), done.returncode


def test_a_lost_quorum_fails_naming_the_voters_that_answer_and_those_that_do_not_and_the_runbook():
    row, rc = check("lost", f"{A}=up {B}=down {C}=down", "up")
    assert rc == 1 and row["status"] == "fail"
    assert row["detail"].startswith("quorum lost:")
    assert f"voters answering: {A}; not answering: {B} {C}" in row["detail"]
    assert "Nothing was changed" in row["detail"] and "docs/lost-quorum.md" in row["detail"]
    assert "make recover" in row["detail"]


def test_a_stopped_microk8s_is_told_apart_from_a_lost_quorum():
    row, rc = check("ok", f"{A}=down {B}=up {C}=up", "down")
    assert rc == 0 and row["status"] == "warn" and "MicroK8s is stopped on elma365-1" in row["detail"]
    assert "microk8s start" in row["detail"] and "the quorum holds" in row["detail"]
    # every voter stopped, this one too: no leader, and the first thing to try is to start them
    row, rc = check("lost", f"{A}=down {B}=down {C}=down", "down")
    assert rc == 1 and "MicroK8s is stopped on elma365-1" in row["detail"] and "microk8s start" in row["detail"]


def test_an_unreachable_voter_is_named_while_the_quorum_holds():
    row, rc = check("ok", f"{A}=up {B}=up {C}=down", "up")
    assert rc == 0 and row["status"] == "warn"
    assert f"not answering: {C}" in row["detail"] and "the quorum holds" in row["detail"]


def test_a_healthy_datastore_and_a_node_without_one_pass():
    row, rc = check("ok", f"{A}=up {B}=up {C}=up", "up")
    assert (rc, row["status"]) == (0, "ok") and f"voters answering: {A} {B} {C}; not answering: none" in row["detail"]
    row, rc = check("none", "none", "none")
    assert (rc, row["status"]) == (0, "ok") and "no datastore" in row["detail"]


def test_the_voters_are_read_from_cluster_yaml_and_each_probed_on_its_port(tmp_path):
    # one reader for the preflight's facts and the quorum gate (datastore-probe.sh); go-dqlite
    # writes `- Address:` first, an older file may start an entry with `- ID:`
    with socket.socket() as listening, socket.socket() as gone:
        listening.bind(("127.0.0.1", 0))
        listening.listen()
        gone.bind(("127.0.0.1", 0))
        up, down = (f"127.0.0.1:{s.getsockname()[1]}" for s in (listening, gone))
        (tmp_path / "cluster.yaml").write_text(
            f"- Address: {up}\n  ID: 3297041220608546238\n  Role: 0\n"
            f"- Address: 127.0.0.9:19001\n  ID: 2\n  Role: 1\n"
            f"- ID: 3\n  Address: {down}\n  Role: 0\n- Address: 127.0.0.8:19001\n  ID: 4\n  Role: 2\n")
        script = datastore_probe() + ('\nwhile read -r v; do if datastore_answers "$v"; then echo "$v up"; '
                                      'else echo "$v down"; fi; done < <(datastore_voters "$1")')
        done = subprocess.run(["bash", "-c", script, "probe", str(tmp_path / "cluster.yaml")],
                              capture_output=True, text=True, timeout=60)
    assert done.stdout.splitlines() == [f"{up} up", f"{down} down"], done.stderr


def test_quorum_facts_as_verify_reads_them():
    q = parse_quorum(f"quorum lost\nvoters {A}=up {B}=down {C}=down\ndqlite up\n")
    assert (q.state, q.answering, q.silent, q.own) == ("lost", (A,), (B, C), "up")
    assert parse_quorum("").state == "unknown"


def hosts_reading(quorum: str, voters: str, reachable=("elma365-1", "elma365-2", "elma365-3")):
    status = "microk8s is not running. Use microk8s inspect for a deeper inspection."
    return {f"elma365-{i}": (HostOutput(True, {"status": Section(1, status), "quorum": Section(
        0, f"quorum {quorum}\nvoters {voters}\ndqlite up")}) if f"elma365-{i}" in reachable
        else HostOutput(False, error="ssh: connect to host: Connection refused")) for i in (1, 2, 3)}


def test_verify_says_lost_quorum_with_the_survivors_and_points_to_make_recover():
    site = parse_site(example(), SECRET_KEYS)
    rows = compare(site, hosts_reading("lost", f"{A}=up {B}=down {C}=down", reachable=("elma365-1",)))
    row = next(r for r in rows if r.check == "datastore quorum")
    assert row.status == DRIFT and row.found.startswith("LOST: voters answering: " + A)
    assert "make recover STACK=<stack> SURVIVORS=elma365-1" in row.repair.text
    running = next(r for r in rows if r.where == "elma365-1" and r.check == "MicroK8s running")
    assert running.found == "not running (its datastore has no quorum)"
    unreachable = next(r for r in rows if r.where == "elma365-2" and r.check == "reachable over SSH")
    assert unreachable.status == DRIFT


def test_verify_says_the_quorum_holds():
    site = parse_site(example(), SECRET_KEYS)
    row = next(r for r in compare(site, hosts_reading("ok", f"{A}=up {B}=up {C}=up")) if r.check == "datastore quorum")
    assert row.status == OK and row.found.startswith("holds: ")


# ---------------------------------------------------------------- make recover's plan

from components.recover.plan import RecoverError, config_change, make_plan  # noqa: E402

NAMES = ["elma365-1", "elma365-2", "elma365-3"]


def held(address: str, index: int, term: int = 2) -> dict:
    return {"address": address, "id": str(abs(hash(address)) % 10**12), "lastIndex": index, "lastTerm": term,
            "exists": True}


def refused(**kwargs) -> str:
    try:
        make_plan("lab", NAMES, main="elma365-1", **kwargs)
    except RecoverError as exc:
        return str(exc)
    raise AssertionError("not refused")


def test_the_plan_takes_the_newest_survivor_and_names_every_step():
    plan = make_plan("lab", NAMES, ["elma365-1", "elma365-2"],
                     {"elma365-1": held(A, 40), "elma365-2": held(B, 42), "elma365-3": None}, main="elma365-1")
    assert plan.source.node == "elma365-2" and plan.lost == ("elma365-3",) and plan.unreachable == ("elma365-3",)
    assert plan.cluster_yaml() == (f"- Address: {A}\n  ID: {plan.held['elma365-1'].id}\n  Role: 0\n"
                                   f"- Address: {B}\n  ID: {plan.held['elma365-2'].id}\n  Role: 0\n")
    text = plan.text()
    for step in ("1. stop MicroK8s on elma365-1, elma365-2", "2. back up the backend folder of elma365-1, elma365-2",
                 "3. on elma365-2: cluster.yaml lists only elma365-1, elma365-2", "4. copy the raft log of elma365-2 to "
                 "elma365-1", "5. start MicroK8s on elma365-1, elma365-2", "remove-node --force elma365-3"):
        assert step in text, text
    assert "elma365-2: 192.168.1.52:19001" in text and "last index 42, term 2  <- newest survivor" in text


def test_a_survivor_that_is_not_the_newest_is_refused_unless_told_so():
    reads = {"elma365-1": held(A, 40), "elma365-2": held(B, 42), "elma365-3": None}
    why = refused(survivors=["elma365-1", "elma365-2"], reachable=reads, source="elma365-1")
    assert "elma365-1 is not the newest datastore: elma365-2 holds last index 42" in why and "Nothing was changed" in why
    # a node left out of the survivors holds newer entries than any survivor
    why = refused(survivors=["elma365-1"], reachable=reads)
    assert "elma365-1 is not the newest" in why and "ALLOW_OLDER=1" in why
    plan = make_plan("lab", NAMES, ["elma365-1"], reads, main="elma365-1", allow_older=True)
    assert plan.source.node == "elma365-1" and plan.stop_only == ("elma365-2",)
    # a later term wins over a longer log of an earlier term (raft's order)
    reads = {"elma365-1": held(A, 50, term=2), "elma365-2": held(B, 42, term=3), "elma365-3": None}
    assert "elma365-2 holds last index 42, term 3" in refused(survivors=["elma365-1"], reachable=reads)


def test_bad_survivors_are_refused_all_at_once_before_anything_changes():
    reads = {"elma365-1": held(A, 40), "elma365-2": None, "elma365-3": {"exists": False}}
    why = refused(survivors=["elma365-9", "elma365-2", "elma365-3"], reachable=reads)
    assert "SURVIVORS names elma365-9" in why and "survivor elma365-2 is not reachable" in why
    assert "survivor elma365-3 keeps no datastore" in why
    assert "nothing is lost" in refused(survivors=NAMES, reachable={n: held(A, 1) for n in NAMES})


def test_the_config_change_force_decommissions_the_lost_nodes():
    text = config_change(NAMES, ["elma365-2", "elma365-3"])
    assert "nodes[1] (elma365-2): decommission: force" in text and "nodes[2] (elma365-3): decommission: force" in text
    assert "elma365-1" not in text
