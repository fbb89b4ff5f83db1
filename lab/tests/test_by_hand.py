"""A site built by hand (lab/by_hand.py, plain ssh, no Pulumi) and what the takeover preflight reads
on it: `command -v elma365ctl`, `microk8s status`, `snap list microk8s`, `kubectl get pods -n elma365`.

One lab for the module: the fixture builds the site step by step (install, joins, HA, HAProxy) and
keeps what each node answered after each step; the tests read that and the simulator's journal.
Run as root from the repository root: python -m pytest lab/tests/test_by_hand.py -q
"""
import os
import shutil
import subprocess
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lab import by_hand  # noqa: E402
from lab.harness import action_of, is_check  # noqa: E402
from lab.site import LabSite  # noqa: E402
from tests.lab_support import FAST, needs_site  # noqa: E402

pytestmark = [needs_site, pytest.mark.skipif(not shutil.which("curl"), reason="curl is missing (lab/setup.sh)")]

MAIN, N2, N3, FRESH = "elma365-1", "elma365-2", "elma365-3", "elma365-4"
CLUSTER = [MAIN, N2, N3]
PODS = "microk8s kubectl get pods -n elma365 --no-headers"


def reads(site, node):
    """What the preflight reads on a node, each as (exit code, stdout, stderr)."""
    out = {}
    for command in ("command -v elma365ctl", "command -v microk8s", "microk8s status", "snap list microk8s", PODS):
        done = by_hand.run(site, node, command, check=False)
        out[command] = (done.returncode, done.stdout, done.stderr)
    return out


def voters(status_out):
    line = next(x for x in status_out.splitlines() if "datastore master nodes:" in x)
    return line.split("nodes:", 1)[1].split()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    site = LabSite(str(tmp_path_factory.mktemp("by-hand") / "lab"))
    try:
        info = site.up(nodes=4, haproxy=True, durations=FAST)
        seen = {"info": info, "site": site, "before": {n: reads(site, n) for n in (MAIN, FRESH)}}
        seen["transcript"] = by_hand.install(site, MAIN, domain="elma365.lab")
        seen["installed"] = {MAIN: reads(site, MAIN)}
        # a node with MicroK8s of its own that never joins: a lone MicroK8s
        by_hand.run(site, FRESH, "snap install microk8s --classic --channel=1.28/stable")
        seen["installed"][FRESH] = reads(site, FRESH)
        for node in (N2, N3):
            by_hand.join(site, MAIN, node)
        seen["joined"] = {n: reads(site, n) for n in CLUSTER + [FRESH]}
        by_hand.enable_ha(site, MAIN, CLUSTER, replicas=3, failover=60)
        seen["ctl"] = {n: by_hand.run(site, n, "elma365ctl status").stdout for n in CLUSTER}
        seen["state"] = site.state()
        seen["config"] = by_hand.haproxy(site, CLUSTER)
        seen["journal"] = site.journal()
        yield seen
    finally:
        site.down()


def test_before_the_install_elma365ctl_is_there_and_microk8s_is_not(built):
    for node in (MAIN, FRESH):
        got = built["before"][node]
        assert got["command -v elma365ctl"][0] == 0 and got["command -v elma365ctl"][1].strip().endswith("/elma365ctl")
        assert got["command -v microk8s"][0] != 0 and got["microk8s status"][0] == 127
        assert got["snap list microk8s"][0] == 1


def test_the_installer_asked_its_questions_on_a_terminal(built):
    transcript = built["transcript"]
    for prompt in ("Enter the domain name for ELMA365: elma365.lab", "Use custom connection string? [y/N]: n",
                   "Enable autoscaling? [y/N]: n", "Enable Linkerd? [Y/n]: y"):
        assert prompt in transcript, transcript
    assert "ELMA365 has been installed successfully" in transcript
    settings = built["state"]["settings"]
    assert built["state"]["domain"] == "elma365.lab" and settings["linkerd"] and not settings["autoscaling"]


def test_after_the_install_the_main_node_is_a_cluster_of_one_on_127_0_0_1_with_pods(built):
    got = built["installed"][MAIN]
    assert got["microk8s status"][0] == 0 and voters(got["microk8s status"][1]) == ["127.0.0.1:19001"]
    assert "high-availability: no" in got["microk8s status"][1]
    rc, out, err = got[PODS]
    assert rc == 0 and err == "" and out.strip(), got[PODS]
    assert {line.split()[0].split("-")[0] for line in out.splitlines()} >= {"main", "worker"}
    assert all(line.split()[1:5] == ["1/1", "Running", "0", "1h"] for line in out.splitlines())
    assert "NAME" not in out
    assert got["snap list microk8s"][0] == 0 and by_hand.tracking(got["snap list microk8s"][1]) == "1.28/stable"


def test_a_lone_microk8s_lists_127_0_0_1_and_no_pods(built):
    for stage in ("installed", "joined"):
        got = built[stage][FRESH]
        assert voters(got["microk8s status"][1]) == ["127.0.0.1:19001"]
        assert got[PODS] == (0, "", "No resources found in elma365 namespace.\n")


def test_after_the_joins_the_members_list_each_other_and_not_127_0_0_1(built):
    addresses = {n["name"]: n["address"] for n in built["info"]["nodes"]}
    want = sorted(f"{addresses[n]}:19001" for n in CLUSTER)
    for node in CLUSTER:
        status = built["joined"][node]["microk8s status"][1]
        assert sorted(voters(status)) == want, (node, status)
        assert "127.0.0.1:19001" not in status and "high-availability: yes" in status
        assert built["joined"][node][PODS][0] == 0 and "main-" in built["joined"][node][PODS][1]
        # every member tracks the main node's channel
        assert by_hand.tracking(built["joined"][node]["snap list microk8s"][1]) == "1.28/stable"
    # kubectl sees the same cluster from every member
    assert len({built["joined"][n][PODS][1] for n in CLUSTER}) == 1


def test_after_enable_ha_every_node_updated_its_hamode_and_one_restart_ran(built):
    for node in CLUSTER:
        ctl = built["ctl"][node]
        assert "high availability: enabled (replicas 3, failover 60s)" in ctl
        assert "hamode updated on: elma365-1, elma365-2, elma365-3" in ctl
        assert "restarts: 1" in ctl
    state = built["state"]
    assert state["restarts"] == 1 and sorted(state["lastRestart"]["hamodeUpdated"]) == CLUSTER
    assert state["settings"]["haReplicas"] == 3 and state["settings"]["failoverSeconds"] == 60


def test_the_journal_shows_the_manuals_order_one_step_at_a_time(built):
    acts = [e for e in built["journal"] if not is_check(e["argv"]) and e["node"] in CLUSTER]
    assert [(e["node"], action_of(e["argv"])) for e in acts] == [
        (MAIN, "installer"),
        (N2, "snap install microk8s --classic --channel=1.28/stable"), (MAIN, "add-node"), (N2, "join"),
        (N3, "snap install microk8s --classic --channel=1.28/stable"), (MAIN, "add-node"), (N3, "join"),
        (MAIN, "reconfigure"),
        (MAIN, "update-hamode"), (N2, "update-hamode"), (N3, "update-hamode"),
        (MAIN, "restart")]
    assert all(e["rc"] == 0 for e in acts)
    # serial: each call began after the one before it ended (a person waits for each)
    assert all(b["start"] >= a["end"] for a, b in zip(acts, acts[1:]))
    # the join string (a one-time token) never reaches the journal
    assert all("<redacted>" in e["argv"] for e in acts if action_of(e["argv"]) == "join")


def test_haproxy_fronts_the_nodes_with_the_manuals_listen_section(built):
    config = built["config"]
    assert "listen elma365_web" in config and "balance leastconn" in config
    assert not [line for line in config.splitlines() if "http-use-htx" in line and not line.startswith("#")]
    assert all(f"server {n} {n}:8080 check" in config for n in CLUSTER)
    url = "http://%s:80/" % built["info"]["haproxy"]["address"]
    served = set()
    for _ in range(6):
        done = subprocess.run(["curl", "-sS", "--noproxy", "*", "-m", "3", url], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        served.add(done.stdout.strip())
    assert served <= {f"ELMA365 lab node {n}" for n in CLUSTER} and len(served) >= 2, served


def test_an_unknown_prompt_fails_with_the_transcript(built):
    site = built["site"]
    with pytest.raises(by_hand.ByHandError) as failed:
        by_hand.on_terminal(site, FRESH, "printf 'Send anonymous usage statistics? [y/N]: '; read -r x",
                            {"Enter the domain name for ELMA365: ": "x"}, question_seconds=0.5, timeout=20)
    assert "unknown prompt 'Send anonymous usage statistics? [y/N]:'" in str(failed.value)
    with pytest.raises(by_hand.ByHandError) as failed:   # a non-zero exit, with what it printed
        by_hand.on_terminal(site, FRESH, "elma365ctl reconfigure", {}, timeout=20)
    assert "exited 1" in str(failed.value) and "not a member" in str(failed.value)


def test_a_join_line_is_the_main_nodes_own_address_without_worker():
    out = ("From the node you wish to join to this cluster, run the following:\n"
           "microk8s join 10.0.2.15:25000/" + "a" * 32 + "/" + "b" * 12 + "\n\n"
           "microk8s join 10.0.2.15:25000/" + "a" * 32 + "/" + "b" * 12 + " --worker\n"
           "microk8s join 127.0.0.11:25000/" + "a" * 32 + "/" + "b" * 12 + " --worker\n"
           "microk8s join 127.0.0.11:25000/" + "a" * 32 + "/" + "b" * 12 + "\n")
    assert by_hand.join_line(out, "127.0.0.11") == "microk8s join 127.0.0.11:25000/" + "a" * 32 + "/" + "b" * 12
    with pytest.raises(by_hand.ByHandError) as failed:
        by_hand.join_line(out, "127.0.0.12")
    assert "a" * 32 not in str(failed.value)
