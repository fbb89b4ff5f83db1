"""A lost quorum on the lab's real dqlite (lab/sim/datastore.py): two of three voters killed, the run
refused before it changes anything, and the datastore brought back by `make recover` with the
entry written before the loss still there; a recovery killed halfway and run again converges.
The operator's checklist: docs/lost-quorum.md. Real CLI, real SSH, real dqlite."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request

from lab import by_hand
from lab.harness import Lab
from lab.stack import ROOT
from tests.lab_support import failed_steps, needs_lab, preflight_failed
from tests.test_lab_take_over import adopting

pytestmark = needs_lab

NODES = ["elma365-1", "elma365-2", "elma365-3"]
API_PORT = 19080   # the lab's datastore's key/value API (dqlite-demo)


def address(lab: Lab, name: str) -> str:
    return by_hand.host_entry(lab.site, name)["address"]


def put(lab: Lab, key: str, value: str) -> None:
    request = urllib.request.Request(f"http://{address(lab, 'elma365-1')}:{API_PORT}/{key}", data=value.encode(),
                                     method="PUT")
    assert urllib.request.urlopen(request, timeout=30).read() == b"done\n"


def get(lab: Lab, key: str) -> str:
    return urllib.request.urlopen(f"http://{address(lab, 'elma365-1')}:{API_PORT}/{key}", timeout=30).read().decode()


def voters(lab: Lab) -> list[str]:
    status = by_hand.run(lab.site, "elma365-1", "microk8s status").stdout
    line = next(x for x in status.splitlines() if "datastore master nodes:" in x)
    return line.split(":", 1)[1].split()


def recover_argv(lab: Lab, *extra: str, survivors: str = "elma365-1") -> list[str]:
    """`make recover STACK=lab SURVIVORS=elma365-1 KEY=<the lab's key>` (YES=1: --yes), as make runs it."""
    return [sys.executable, "-m", "components.recover", "--stack", str(lab.stack.config_file),
            "--key", lab.info["privateKeyPath"], "--survivors", survivors, *extra]


def standbys(lab: Lab) -> list[str]:
    status = by_hand.run(lab.site, "elma365-1", "microk8s status").stdout
    line = next(x for x in status.splitlines() if "datastore standby nodes:" in x)
    return [x for x in line.split(":", 1)[1].split() if x != "none"]


def lose_two_voters(lab: Lab, nodes: list[str] = NODES) -> list[str]:
    """A cluster built by hand (lab/by_hand.py), an entry written, then the two voters other than
    elma365-1 die: their servers and their dqlite are gone at once. Returns the dead ones."""
    by_hand.build_cluster(lab.site, nodes, ha=True, haproxy=True)
    assert len(voters(lab)) == 3 and len(standbys(lab)) == min(len(nodes) - 3, 3)
    put(lab, "before-loss", "kept")
    # a site that ran a while: each node's cluster.yaml lists the members (go-dqlite refreshes it
    # from the leader periodically, not at each join)
    known = os.path.join(lab.site.nodes_dir, "elma365-1", "var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml")
    deadline = time.monotonic() + 120
    while open(known).read().count("Address:") < len(nodes):
        assert time.monotonic() < deadline, open(known).read()
        time.sleep(1)
    by_address = {f"{address(lab, n)}:19001": n for n in nodes}
    dead = sorted(by_address[v] for v in voters(lab) if by_address[v] != "elma365-1")
    for name in dead:
        lab.site.stop_node(name)
    # the survivor's leader steps down once it misses its followers (raft's election timeout)
    deadline = time.monotonic() + 60
    while by_hand.run(lab.site, "elma365-1", "microk8s status", check=False).returncode == 0:
        assert time.monotonic() < deadline, "elma365-1 still serves without its quorum"
        time.sleep(1)
    return dead


def test_two_lost_voters_refuse_pulumi_up_and_make_recover_brings_the_survivor_back_with_its_data(new_lab):
    lab = new_lab()
    lose_two_voters(lab)

    # the operator's first `pulumi up` over this site: refused, the survivor saying what it found
    mark = lab.mark()
    report = lab.up(adopting(lab))
    assert not report.ok and "elma365-1-preflight" in failed_steps(report)
    quorum = preflight_failed(report).get(("elma365-1", "datastore"), "")
    assert quorum.startswith("quorum lost: "), preflight_failed(report)
    assert "voters answering: %s:19001; not answering: " % address(lab, "elma365-1") in quorum
    assert "docs/lost-quorum.md" in quorum
    assert lab.journal(mark) == []          # no vendor call that changes anything

    # without YES, a wrong answer to the confirmation changes nothing
    mark = lab.mark()
    done = subprocess.run(recover_argv(lab), input="not-the-site\n", capture_output=True, text=True, timeout=300,
                          cwd=ROOT)
    assert done.returncode == 2 and "Not confirmed: nothing was changed." in done.stdout, done.stdout + done.stderr
    assert "lost nodes: elma365-2, elma365-3" in done.stdout and "newest survivor: the source" in done.stdout
    assert lab.journal(mark) == []

    done = subprocess.run(recover_argv(lab), input="lab\n", capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert get(lab, "before-loss") == "kept\n"
    assert voters(lab) == [f"{address(lab, 'elma365-1')}:19001"]
    put(lab, "after-recovery", "written")    # the datastore takes writes again
    assert "nodes[1] (elma365-2): decommission: force" in done.stdout
    assert "nodes[2] (elma365-3): decommission: force" in done.stdout
    assert [e.action for e in lab.journal(mark)] == ["stop", "start", "remove-node elma365-2 --force",
                                                     "remove-node elma365-3 --force"]


def test_a_survivor_that_is_not_named_is_refused_and_an_unknown_one_too(new_lab):
    lab = new_lab()
    lose_two_voters(lab)
    lab.stack.configure(lab.values)
    mark = lab.mark()
    done = subprocess.run(recover_argv(lab, "--yes", survivors="elma365-9"), capture_output=True, text=True,
                          timeout=300, cwd=ROOT)
    assert done.returncode == 2 and "SURVIVORS names elma365-9" in done.stderr, done.stderr
    done = subprocess.run(recover_argv(lab, "--yes", survivors="elma365-1,elma365-2"), capture_output=True,
                          text=True, timeout=300, cwd=ROOT)
    assert done.returncode == 2 and "survivor elma365-2 is not reachable" in done.stderr, done.stderr
    assert lab.journal(mark) == []


def test_a_recovery_killed_halfway_and_run_again_converges_with_nothing_lost(new_lab):
    lab = new_lab()
    lose_two_voters(lab)
    lab.stack.configure(lab.values)
    backups = os.path.join(lab.site.nodes_dir, "elma365-1", "var/lib/elma365-cluster/recover")
    first = subprocess.Popen(recover_argv(lab, "--yes"), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             cwd=ROOT, start_new_session=True)
    deadline = time.monotonic() + 120
    while not (os.path.isdir(backups) and any(n.endswith(".tar.gz") for n in os.listdir(backups))) \
            and first.poll() is None:
        assert time.monotonic() < deadline, "the recovery never backed up elma365-1"
        time.sleep(0.02)
    os.killpg(first.pid, signal.SIGKILL)    # the operator's laptop dies right after the backup
    first.communicate()

    done = subprocess.run(recover_argv(lab, "--yes"), capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert get(lab, "before-loss") == "kept\n"
    assert voters(lab) == [f"{address(lab, 'elma365-1')}:19001"]
    kept = sorted(os.listdir(backups))
    assert len(kept) == 2 and all(n.endswith(".tar.gz") for n in kept), kept   # the first run's backup is kept
    for name in kept:    # each one whole
        assert subprocess.run(["tar", "-tzf", os.path.join(backups, name)], capture_output=True).returncode == 0
    # and once more, after it finished: the same end, nothing lost
    again = subprocess.run(recover_argv(lab, "--yes"), capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert again.returncode == 0, again.stdout + again.stderr
    assert get(lab, "before-loss") == "kept\n" and voters(lab) == [f"{address(lab, 'elma365-1')}:19001"]


def test_after_the_recovery_pulumi_up_takes_the_lost_nodes_out_and_two_new_servers_make_3_voters_again(new_lab):
    lab = new_lab(nodes=5)
    lose_two_voters(lab)
    lab.values = {**lab.values, "nodes": lab.node_values(5)["nodes"]}
    lab.stack.configure(adopting(lab))
    done = subprocess.run(recover_argv(lab, "--yes"), capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    values = adopting(lab)
    for i in (1, 2):                         # the printed config change
        assert f"nodes[{i}] ({values['nodes'][i]['name']}): decommission: force" in done.stdout
        values["nodes"][i]["decommission"] = "force"
    report = lab.up(values)
    assert report.ok, "\n".join(report.failures)
    assert sorted(lab.site.state()["members"]) == ["elma365-1", "elma365-4", "elma365-5"]
    assert sorted(voters(lab)) == sorted(f"{address(lab, n)}:19001" for n in ("elma365-1", "elma365-4", "elma365-5"))
    assert get(lab, "before-loss") == "kept\n"
    mark = lab.mark()
    again = lab.up(values)
    assert again.ok and lab.journal(mark) == []   # a second up runs nothing


def test_three_survivors_a_voter_and_two_standbys_get_the_newest_log_and_are_3_voters_again(new_lab):
    # five nodes: three voters and two standbys (go-dqlite's roles); two voters die, and the survivors
    # are the last voter and both standbys: the source's raft log is copied to the other two
    lab = new_lab(nodes=5, all_nodes=True)
    names = [f"elma365-{i}" for i in range(1, 6)]
    dead = lose_two_voters(lab, names)
    survivors = [n for n in names if n not in dead]
    lab.stack.configure(lab.values)
    done = subprocess.run(recover_argv(lab, "--yes", survivors=",".join(survivors)), capture_output=True, text=True,
                          timeout=900, cwd=ROOT)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "4. copy the raft log of " in done.stdout, done.stdout
    assert get(lab, "before-loss") == "kept\n"
    assert sorted(voters(lab)) == sorted(f"{address(lab, n)}:19001" for n in survivors)
    put(lab, "after-recovery", "written")
    for i, name in enumerate(names):
        assert (f"nodes[{i}] ({name}): decommission: force" in done.stdout) == (name in dead), done.stdout
