"""The quorum gate, as the operator's table has it (docs/replace-dead-node.md): what the datastore can
take with voters dead, in Python (components/render/quorum.verdict) and in the bash the nodes run
(quorum-gate.sh, over real loopback listeners standing in for the voters' datastore ports)."""
from __future__ import annotations

import re
import socket
import subprocess
from contextlib import ExitStack

import pytest

from components.render.quorum import Change, Datastore, gate, verdict

A, B, C, D = "10.0.0.1:19001", "10.0.0.2:19001", "10.0.0.3:19001", "10.0.0.4:19001"


def store(*voters: str, dead: tuple[str, ...] = (), members: tuple[str, ...] = ()) -> Datastore:
    return Datastore(tuple(voters), frozenset(v for v in voters if v not in dead), frozenset(members))


REPLACE_C = Change("the membership changes of this run", forced=(C,), joining=("elma365-4",))
# (what the operator does, the datastore, the change, allowed?)
TABLE = [
    ("3 voters, all answer: a node joins", store(A, B, C), Change("elma365-4 joins", joining=("elma365-4",)), True),
    ("3 voters, all answer: a node leaves", store(A, B, C),
     Change("elma365-3 leaves", away=C, away_name="elma365-3", leaves=True), True),
    ("3 voters, all answer: a node restarts", store(A, B, C), Change("update-hamode", away=B, away_name="elma365-2"), True),
    ("3 voters, 1 dead: force-remove it and join its replacement", store(A, B, C, dead=(C,)), REPLACE_C, True),
    ("3 voters, 1 dead: its forced removal alone", store(A, B, C, dead=(C,)), Change("removal", forced=(C,)), True),
    ("3 voters, 1 dead and kept: a join", store(A, B, C, dead=(C,)), Change("elma365-4 joins", joining=("elma365-4",)), False),
    ("3 voters, 1 dead and kept: a live node leaves", store(A, B, C, dead=(C,)),
     Change("elma365-2 leaves", away=B, away_name="elma365-2", leaves=True), False),
    ("3 voters, 1 dead and kept: a node restarts", store(A, B, C, dead=(C,)),
     Change("update-hamode", away=B, away_name="elma365-2"), False),
    ("3 voters, 2 dead: one forced out and replaced", store(A, B, C, dead=(B, C)),
     Change("run", forced=(C,), joining=("elma365-4",)), False),
    ("3 voters, 2 dead: both forced out", store(A, B, C, dead=(B, C)), Change("run", forced=(B, C)), False),
    ("a join of a node already a member is no join", store(A, B, C, dead=(C,), members=("elma365-4",)),
     Change("elma365-4 joins", joining=("elma365-4",)), True),
    ("no voters listed (lost quorum)", store(), Change("elma365-4 joins", joining=("elma365-4",)), False),
    ("1 voter (a lone main node) restarts", store("127.0.0.1:19001"),
     Change("elma365ctl restart", away="10.0.0.1:19001", away_name="elma365-1"), True),
    ("2 voters: one restarts (no majority to keep with 2)", store(A, B), Change("restart", away=B, away_name="elma365-2"), True),
    ("2 voters, 1 dead: anything", store(A, B, dead=(B,)), Change("restart", away=A, away_name="elma365-1"), False),
    ("4 voters, 1 dead: a node restarts", store(A, B, C, D, dead=(D,)), Change("restart", away=B, away_name="elma365-2"), False),
    ("4 voters, 1 dead: forced out, then a node restarts", store(A, B, C, D, dead=(D,)),
     Change("restart", forced=(D,), away=B, away_name="elma365-2"), True),
    ("refresh: 3 voters whole", store(A, B, C), Change("refresh", away=B, away_name="elma365-2", whole=3), True),
    ("refresh: only 2 voters listed", store(A, B), Change("refresh", away=B, away_name="elma365-2", whole=3), False),
]


@pytest.mark.parametrize("about,datastore,change,allowed", TABLE, ids=[row[0] for row in TABLE])
def test_the_operators_table(about, datastore, change, allowed):
    assert verdict(datastore, change).allowed is allowed, verdict(datastore, change).why


def test_a_refusal_names_the_voters_that_do_not_answer():
    why = verdict(store(A, B, C, dead=(C,)), Change("elma365-4 joins", joining=("elma365-4",))).why
    assert C in why and "elma365-4" in why and "#2348" in why
    why = verdict(store(A, B, C, dead=(B, C)), Change("run", forced=(C,), joining=("elma365-4",))).why
    assert "quorum lost" in why and "docs/lost-quorum.md" in why and C in why
    assert "with 10.0.0.3:19001 counted as removed" in verdict(store(A, B, C, dead=(C,)), REPLACE_C).why


# ------------------------------------------------------------------ the same rule in bash


def run_gate(tmp_path, datastore: Datastore, change: Change) -> tuple[bool, str]:
    """quorum-gate.sh (through gate()) in bash on the node 10.0.0.1's stand-in: `microk8s status`
    lists the voters, each voter's address is a loopback port that takes connections when it answers."""
    with ExitStack() as stack:
        ports: dict[str, str] = {}
        for voter in set(datastore.voters) | set(change.forced) | ({change.away} - {""}):
            sock = stack.enter_context(socket.socket())
            sock.bind(("127.0.0.1", 0))
            if voter in datastore.answering:
                sock.listen()
            ports[voter] = f"127.0.0.1:{sock.getsockname()[1]}"   # not listening: refused
        if "127.0.0.1:19001" in datastore.voters:
            ports["127.0.0.1:19001"] = "127.0.0.1:19001"
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir(exist_ok=True)
        listed = " ".join(ports[v] for v in datastore.voters) or "none"
        (bin_dir / "microk8s").write_text(f"""#!/bin/bash
case "$1" in
  status) printf 'microk8s is running\\nhigh-availability: yes\\n  datastore master nodes: %s\\n  datastore standby nodes: none\\n' '{listed}' ;;
  kubectl) case " {' '.join(datastore.members)} " in *" $4 "*) exit 0 ;; *) exit 1 ;; esac ;;
esac
""")
        (bin_dir / "microk8s").chmod(0o755)
        mapped = Change(change.what, forced=tuple(ports[v] for v in change.forced), joining=change.joining,
                        away=ports.get(change.away, ""), away_name=change.away_name, leaves=change.leaves,
                        whole=change.whole)
        script = gate(mapped, "elma365-1", "10.9.9.9:19001")
        result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True,
                                env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=60)
        said = result.stderr if result.returncode else result.stdout
        for voter, port in ports.items():   # back to the names the Python saw
            said = said.replace(port, voter)
        return result.returncode == 0, said


@pytest.mark.parametrize("about,datastore,change,allowed", TABLE, ids=[row[0] for row in TABLE])
def test_the_nodes_bash_says_what_the_python_says(tmp_path, about, datastore, change, allowed):
    ok, said = run_gate(tmp_path, datastore, change)
    expected = verdict(datastore, change)
    assert ok is expected.allowed, said
    assert expected.why in said, (said, expected.why)
    if not ok:
        assert said.startswith(f"ERROR: {change.what}: refused, nothing changed: ")


def test_the_gate_changes_nothing_and_calls_no_vendor_verb_that_changes_anything():
    script = gate(REPLACE_C, "elma365-1", "10.0.0.1:19001")
    verbs = set(re.findall(r"(?<![\w-])(?:microk8s|elma365ctl|snap) ([a-z][a-z-]*)", script))
    assert verbs == {"status", "kubectl"}, verbs
    assert "kubectl get node" in script and "kubectl get node \"$name\"" in script


def test_without_a_quorum_the_gate_names_the_voters_from_dqlites_own_configuration(tmp_path):
    # lost quorum: `microk8s status` says "not running" (the API server cannot read the datastore)
    with socket.socket() as alive:
        alive.bind(("127.0.0.1", 0))
        alive.listen()
        up = f"127.0.0.1:{alive.getsockname()[1]}"
        with socket.socket() as dead:
            dead.bind(("127.0.0.1", 0))
            down = f"127.0.0.1:{dead.getsockname()[1]}"
            bin_dir = tmp_path / "bin"
            bin_dir.mkdir()
            (bin_dir / "microk8s").write_text("#!/bin/bash\necho 'microk8s is not running. Use microk8s inspect "
                                              "for a deeper inspection.'\nexit 1\n")
            (bin_dir / "microk8s").chmod(0o755)
            cluster_yaml = tmp_path / "cluster.yaml"
            cluster_yaml.write_text("".join(f"- Address: {a}\n  ID: {i}\n  Role: {r}\n"
                                            for i, (a, r) in enumerate([("10.9.9.9:19001", 0), (up, 0), (down, 0),
                                                                        ("127.0.0.1:1", 1)])))
            script = gate(REPLACE_C, "elma365-1", "10.9.9.9:19001").replace(
                "/var/snap/microk8s/current/var/kubernetes/backend/cluster.yaml", str(cluster_yaml))
            result = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True,
                                    env={"PATH": f"{bin_dir}:/usr/bin:/bin"}, timeout=60)
    assert result.returncode == 1
    assert "MicroK8s does not answer on elma365-1 (microk8s is not running." in result.stderr
    assert f"cluster.yaml that answer: 10.9.9.9:19001 {up}, that do not: {down} (" in result.stderr
