"""A MicroK8s refresh on the lab, over plain ssh (no Pulumi): the simulator's snapd and kubectl
(lab/sim/elma365sim.py: holds, `snap version`, the system options, a refresh and what it stops while
it runs, one whose session is killed, its faults, cordon/uncordon/drain, snapd's own auto-refresh, the
journal's classes), HAProxy's server state through the admin socket of the program's config
(lab/refresh.py), and a refresh by hand under the lab's steady load: node by node with drains (no
request fails) against every node at once (requests fail).

One 3-node HA lab built by hand (lab/by_hand.py) with the program's own HAProxy config for the module;
each test leaves the cluster healthy (every node Ready, uncordoned, 3 voters, UP in HAProxy). A lab
with two balancers for the one test that needs them. Run as root from the repository root:
python -m pytest lab/tests/test_refresh_lab.py -q -s     (-s prints the measured figures)
"""
import os
import shutil
import socket
import sys
import threading
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lab import by_hand, refresh  # noqa: E402
from lab.harness import is_check  # noqa: E402
from lab.load import one  # noqa: E402
from lab.site import LabSite  # noqa: E402
from tests.lab_support import FAST, needs_site  # noqa: E402

pytestmark = [needs_site, pytest.mark.skipif(not shutil.which("curl"), reason="curl is missing (lab/setup.sh)")]

MAIN, N2, N3 = "elma365-1", "elma365-2", "elma365-3"
CLUSTER = [MAIN, N2, N3]
REFRESH = 0.5   # snap_refresh
SLOW_REFRESH = 4.0   # long enough to look at a node (over ssh) while it refreshes
MEASURED_REFRESH = 1.5   # long enough that HAProxy's checks (inter 1s, fall 2) see nodes that do not answer


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    lab = LabSite(str(tmp_path_factory.mktemp("refresh") / "lab"))
    try:
        lab.up(nodes=3, haproxy=True, durations=dict(FAST, snap_refresh=REFRESH))
        by_hand.build_cluster(lab, CLUSTER, ha=True, haproxy=False)
        lab.config = refresh.program_haproxy(lab)
        for node in CLUSTER:
            refresh.wait_in_service(lab, node)
        yield lab
    finally:
        lab.down()


@pytest.fixture(autouse=True)
def no_faults(site):
    site.set_faults({})
    yield
    site.set_faults({})


def sh(site, node, command):
    return by_hand.run(site, node, command, check=False)


def snap_row(site, node):
    out = sh(site, node, "snap list microk8s").stdout.splitlines()
    return out[1].split()   # name, version, rev, tracking, publisher, notes


def node_status(site, node, via=MAIN):
    return sh(site, via, "microk8s kubectl get nodes --no-headers").stdout.split(node, 1)[1].split()[0]


def web_answers(site, node):
    address = by_hand.host_entry(site, node)["address"]
    try:
        with socket.create_connection((address, 8080), timeout=0.5):
            return True
    except OSError:
        return False


def web_closes(site, node, within=0.5):
    """Whether the node's web endpoint stops answering within `within` s (web.py polls the state
    every 100 ms)."""
    deadline = time.monotonic() + within
    while web_answers(site, node):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


def during(site, node, command):
    """Starts `command` on `node` in the background; returns its thread and result holder."""
    box = {}
    thread = threading.Thread(target=lambda: box.update(done=sh(site, node, command)))
    thread.start()
    return thread, box


def wait_refreshing(site, node, timeout=5.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if site.state()["nodes"][node].get("refreshing"):
            return
        time.sleep(0.02)
    raise AssertionError(f"{node} never started refreshing")


# ------------------------------------------------------------------------------------------------

def test_snap_version_is_a_knob(site):
    assert sh(site, N2, "snap version").stdout.splitlines()[:2] == ["snap    2.63+22.04", "snapd   2.63+22.04"]
    site.set_faults({"snapd_version": {N2: "2.57.6"}})
    assert sh(site, N2, "snap version").stdout.splitlines()[1] == "snapd   2.57.6"
    assert sh(site, N3, "snap version").stdout.splitlines()[1] == "snapd   2.63+22.04"


def test_hold_and_unhold_show_in_snap_list(site):
    assert snap_row(site, N2)[5] == "classic"
    done = sh(site, N2, "snap refresh --hold microk8s")
    assert (done.returncode, done.stdout) == (0, 'General refreshes of "microk8s" held indefinitely\n')
    assert snap_row(site, N2)[5] == "classic,held"
    assert snap_row(site, N3)[5] == "classic"          # a hold is one node's snapd
    done = sh(site, N2, "snap refresh --hold=72h microk8s")
    assert done.returncode == 0 and done.stdout.startswith('General refreshes of "microk8s" held until 20')
    assert snap_row(site, N2)[5] == "classic,held"
    done = sh(site, N2, "snap refresh --unhold microk8s")
    assert (done.returncode, done.stdout) == (0, 'Removed general refresh hold of "microk8s"\n')
    assert snap_row(site, N2)[5] == "classic"


def test_a_bad_hold_duration_is_refused_as_snapd_refuses_it(site):
    done = sh(site, N2, "snap refresh --hold=3d microk8s")
    assert done.returncode == 1
    assert done.stderr == ('error: hold value must be a number of hours, minutes or seconds, or "forever": '
                           'time: unknown unit "d" in duration "3d"\n')
    assert sh(site, N2, "snap refresh --hold=0.5s microk8s").stderr == \
        "error: cannot hold refreshes for less than a second: 0.5s\n"
    assert snap_row(site, N2)[5] == "classic"


def test_an_old_snapd_has_no_hold(site):
    site.set_faults({"snapd_version": "2.57.6"})
    for flag in ("hold", "unhold"):
        done = sh(site, N2, f"snap refresh --{flag} microk8s")
        assert (done.returncode, done.stdout, done.stderr) == (1, "", f"error: unknown flag `{flag}'\n")
    assert snap_row(site, N2)[5] == "classic"


def test_the_system_refresh_hold_option_is_stored(site):
    done = sh(site, N3, "snap get system refresh.hold")
    assert (done.returncode, done.stderr) == (1, 'error: snap "core" has no "refresh.hold" configuration option\n')
    assert sh(site, N3, "snap set system refresh.hold=2030-01-01T00:00:00Z").returncode == 0
    assert sh(site, N3, "snap get system refresh.hold").stdout == "2030-01-01T00:00:00Z\n"
    bad = sh(site, N3, "snap set system refresh.hold=tomorrow")
    assert bad.returncode == 1 and "refresh.hold cannot be parsed" in bad.stderr
    assert sh(site, N3, "snap get system refresh.hold").stdout == "2030-01-01T00:00:00Z\n"
    assert sh(site, N3, "snap unset system refresh.hold").returncode == 0
    assert sh(site, N3, "snap get system refresh.hold").returncode == 1


def test_a_patch_refresh_stops_the_node_while_it_runs_and_bumps_the_revision(site):
    assert snap_row(site, N2)[1:4] == ["v1.28.15", "7449", "1.28/stable"]
    site.set_durations(dict(FAST, snap_refresh=SLOW_REFRESH))
    try:
        thread, box = during(site, N2, "snap refresh microk8s")
        wait_refreshing(site, N2)
        started = time.monotonic()
        seen = {"web closed": web_closes(site, N2), "status": sh(site, N2, "microk8s status"),
                "kubectl": sh(site, N2, "microk8s kubectl get nodes"), "nodes": node_status(site, N2),
                "voters": refresh.voters(sh(site, MAIN, "microk8s status").stdout)}
        seen["seconds"] = time.monotonic() - started
        thread.join()
    finally:
        site.set_durations(dict(FAST, snap_refresh=REFRESH))
    call = [e for e in site.journal() if e["node"] == N2 and e["argv"] == ["snap", "refresh", "microk8s"]][-1]
    assert call["end"] - call["start"] >= SLOW_REFRESH
    assert seen["seconds"] < SLOW_REFRESH, "looked too late: the refresh was over"
    assert box["done"].returncode == 0
    assert box["done"].stdout == "microk8s (1.28/stable) v1.28.15 from Canonical** refreshed\n"
    assert seen["web closed"]
    assert seen["status"].returncode == 1 and "microk8s is not running" in seen["status"].stdout
    assert seen["kubectl"].returncode == 1
    assert seen["kubectl"].stderr.startswith("The connection to the server 127.0.0.1:16443 was refused")
    assert seen["nodes"] == "NotReady"
    assert len(seen["voters"]) == 2 and by_hand.host_entry(site, N2)["address"] + ":19001" not in seen["voters"]
    # afterwards: back, on the channel's newer revision, a voter again
    assert snap_row(site, N2)[1:4] == ["v1.28.15", "7581", "1.28/stable"]
    assert sh(site, N2, "microk8s version").stdout == "MicroK8s v1.28.15 revision 7581\n"
    assert node_status(site, N2) == "Ready" and web_answers(site, N2)
    assert len(refresh.voters(sh(site, MAIN, "microk8s status").stdout)) == 3
    again = sh(site, N2, "snap refresh microk8s")
    assert (again.returncode, again.stderr) == (0, 'snap "microk8s" has no updates available\n')


def test_a_channel_refresh_moves_the_node_to_the_channel(site):
    done = sh(site, N3, "snap refresh microk8s --channel=1.29/stable")
    assert (done.returncode, done.stdout) == (0, "microk8s (1.29/stable) v1.29.9 from Canonical** refreshed\n")
    assert snap_row(site, N3)[1:4] == ["v1.29.9", "7231", "1.29/stable"]
    assert sh(site, MAIN, f"microk8s kubectl get node {N3} --no-headers").stdout.split()[-1] == "v1.29.9"
    done = sh(site, N3, "snap refresh microk8s --channel=1.29/stable")   # the same channel: its newer patch
    assert done.stdout == "microk8s (1.29/stable) v1.29.15 from Canonical** refreshed\n"
    assert snap_row(site, N3)[1:3] == ["v1.29.15", "7660"]
    bad = sh(site, N3, "snap refresh microk8s --channel=1.99/stable")
    assert (bad.returncode, bad.stderr) == (1, 'error: requested channel "1.99/stable" is not available for snap "microk8s"\n')
    assert sh(site, N3, "snap refresh microk8s --channel=1.28/stable").returncode == 0
    assert snap_row(site, N3)[1:4] == ["v1.28.15", "7449", "1.28/stable"]


def test_a_refresh_whose_session_is_killed_finishes_at_once(site):
    site.set_durations(dict(FAST, snap_refresh=30))
    try:
        thread, box = during(site, N3, "snap refresh microk8s --channel=1.29/stable")
        wait_refreshing(site, N3)
        started = time.monotonic()
        site.stop_node(N3)              # SIGTERM to every process of the host: the client too
        thread.join()
        assert time.monotonic() - started < 10
    finally:
        site.set_durations(dict(FAST, snap_refresh=REFRESH))
        site.start_node(N3)
    ns = site.state()["nodes"][N3]
    assert "refreshing" not in ns and ns["up"] and (ns["microk8s"], ns["revision"]) == ("1.29/stable", "7231")
    assert sh(site, N3, "snap refresh microk8s --channel=1.28/stable").returncode == 0


def test_a_refresh_that_fails_leaves_the_old_revision_running(site):
    site.set_faults({"refresh_fail": N2})
    before = snap_row(site, N2)
    done = sh(site, N2, "snap refresh microk8s --channel=1.29/stable")
    assert done.returncode == 1
    assert done.stderr.startswith('error: cannot perform the following tasks:\n- Start snap "microk8s" (7231) services '
                                  "(systemctl command [start snap.microk8s.daemon-kubelite.service] failed")
    assert snap_row(site, N2) == before
    assert node_status(site, N2) == "Ready" and web_answers(site, N2)
    assert len(refresh.voters(sh(site, MAIN, "microk8s status").stdout)) == 3


def test_a_node_stuck_after_its_refresh_stays_notready_until_microk8s_start(site):
    site.set_faults({"refresh_stuck": [N3]})
    done = sh(site, N3, "snap refresh microk8s --channel=1.29/stable")
    assert done.returncode == 0 and snap_row(site, N3)[3] == "1.29/stable"
    assert node_status(site, N3) == "NotReady" and web_closes(site, N3)
    assert sh(site, N3, "microk8s status").returncode == 1
    assert len(refresh.voters(sh(site, MAIN, "microk8s status").stdout)) == 2
    site.set_faults({})
    assert sh(site, N3, "microk8s start").returncode == 0
    assert node_status(site, N3) == "Ready" and len(refresh.voters(sh(site, MAIN, "microk8s status").stdout)) == 3
    assert sh(site, N3, "snap refresh microk8s --channel=1.28/stable").returncode == 0


def test_cordon_uncordon_and_drain(site):
    assert sh(site, MAIN, f"microk8s kubectl cordon {N2}").stdout == f"node/{N2} cordoned\n"
    assert sh(site, MAIN, f"microk8s kubectl cordon {N2}").stdout == f"node/{N2} already cordoned\n"
    assert node_status(site, N2) == "Ready,SchedulingDisabled"
    listed = sh(site, MAIN, f"microk8s kubectl get node {N2}").stdout.splitlines()
    assert listed[0].split()[:2] == ["NAME", "STATUS"] and listed[1].split()[1] == "Ready,SchedulingDisabled"
    assert sh(site, MAIN, f"microk8s kubectl uncordon {N2}").stdout == f"node/{N2} uncordoned\n"
    assert sh(site, MAIN, f"microk8s kubectl uncordon {N2}").stdout == f"node/{N2} already uncordoned\n"
    assert node_status(site, N2) == "Ready"
    done = sh(site, MAIN, f"microk8s kubectl drain {N3} --ignore-daemonsets --delete-emptydir-data --timeout=60s")
    assert (done.returncode, done.stdout) == (0, f"node/{N3} cordoned\nnode/{N3} drained\n")
    assert node_status(site, N3) == "Ready,SchedulingDisabled"     # until uncordon
    assert sh(site, MAIN, f"microk8s kubectl uncordon {N3}").returncode == 0
    missing = sh(site, MAIN, "microk8s kubectl cordon elma365-9")
    assert (missing.returncode, missing.stderr) == (1, 'Error from server (NotFound): nodes "elma365-9" not found\n')


def test_a_stuck_drain_fails_and_leaves_the_node_cordoned(site):
    site.set_faults({"drain_stuck": N2})
    done = sh(site, MAIN, f"microk8s kubectl drain {N2} --ignore-daemonsets --timeout 60s")
    assert done.returncode == 1 and "unable to drain node elma365-2" in done.stderr
    assert node_status(site, N2) == "Ready,SchedulingDisabled"
    assert sh(site, MAIN, f"microk8s kubectl uncordon {N2}").returncode == 0


def test_snapds_auto_refresh_honours_every_hold(site):
    assert sh(site, N2, "snap refresh --hold microk8s").returncode == 0
    assert site.auto_refresh(N2) == "auto-refresh: microk8s held\n"
    assert sh(site, N2, "snap refresh --unhold microk8s").returncode == 0
    assert sh(site, N2, "snap set system refresh.hold=forever").returncode == 0
    assert site.auto_refresh(N2) == "auto-refresh: microk8s held\n"
    assert sh(site, N2, "snap unset system refresh.hold").returncode == 0
    assert sh(site, N2, "snap refresh microk8s --channel=1.29/stable").returncode == 0   # its first revision
    assert site.auto_refresh(N2) == "microk8s (1.29/stable) v1.29.15 from Canonical** refreshed\n"
    assert snap_row(site, N2)[1:4] == ["v1.29.15", "7660", "1.29/stable"]
    assert [e["rc"] for e in site.journal() if e["node"] == N2 and e["argv"] == ["snapd", "auto-refresh"]] == [0] * 3
    # an explicit refresh of a held snap goes ahead (snapd: only general refreshes are held)
    assert sh(site, N2, "snap refresh --hold microk8s").returncode == 0
    assert sh(site, N2, "snap refresh microk8s --channel=1.28/stable").returncode == 0
    assert "All snaps up to date." in sh(site, N2, "snap refresh").stderr
    assert sh(site, N2, "snap refresh --unhold microk8s").returncode == 0


def test_the_journal_tells_checks_from_changes(site):
    reads = ["snap version", "snap list microk8s", "snap get system refresh.hold", "microk8s status",
             "microk8s version", f"microk8s kubectl get node {N2}", "microk8s kubectl get nodes --no-headers"]
    changes = ["snap refresh --hold microk8s", "snap refresh --unhold microk8s", "snap set system refresh.hold=forever",
               "snap unset system refresh.hold", "snap refresh microk8s", f"microk8s kubectl cordon {N2}",
               f"microk8s kubectl uncordon {N2}", f"microk8s kubectl drain {N2} --ignore-daemonsets"]
    mark = len(site.journal())
    for command in reads + changes + [f"microk8s kubectl uncordon {N2}"]:
        sh(site, MAIN, command)
    site.auto_refresh(MAIN)
    got = [(" ".join(e["argv"]), is_check(e["argv"])) for e in site.journal()[mark:]]
    assert got == [(c, True) for c in reads] + [(c, False) for c in changes] + [
        (f"microk8s kubectl uncordon {N2}", False), ("snapd auto-refresh", False)]


# ------------------------------------------------------------------------------------------------
# HAProxy's admin socket, and the measurement
# ------------------------------------------------------------------------------------------------

def on_haproxy(site, command):
    return by_hand.run(site, site.info()["haproxy"], command)


@pytest.fixture
def in_service(site):
    """Every node UP in HAProxy (a refresh in a test before took it out until its checks rose again)."""
    for node in CLUSTER:
        refresh.wait_in_service(site, node)
    return site


def test_the_program_config_has_an_admin_socket_the_lab_haproxy_serves(site, in_service):
    assert "    stats socket /run/haproxy/admin.sock mode 600 level admin\n" in site.config
    assert "\nlisten elma365_web\n" in site.config and refresh.BACKEND == "elma365_web"
    assert on_haproxy(site, "test -S /run/haproxy/admin.sock && echo socket").stdout == "socket\n"
    assert refresh.server_states(site, N2) == {"haproxy": "UP"}


@pytest.mark.parametrize("tool", ["socat", "python3"])
def test_server_state_set_and_read_through_the_admin_socket(site, in_service, tool):
    if tool == "socat" and not shutil.which("socat"):
        pytest.skip("socat is missing (lab/setup.sh)")
    for state, status in (("drain", "DRAIN"), ("maint", "MAINT")):
        refresh.admin(site, site.info()["haproxy"], f"set server elma365_web/{N2} state {state}", tool=tool)
        rows = refresh.parse_show_stat(refresh.admin(site, site.info()["haproxy"], "show stat", tool=tool))
        assert rows[("elma365_web", N2)]["status"] == status
        assert rows[("elma365_web", N3)]["status"] == "UP"
    refresh.admin(site, site.info()["haproxy"], f"set server elma365_web/{N2} state ready", tool=tool)
    refresh.wait_in_service(site, N2)


def test_the_commands_an_operator_types_work_on_the_haproxy_host(site, in_service):
    on_haproxy(site, f'echo "set server elma365_web/{N2} state drain" | socat stdio /run/haproxy/admin.sock')
    assert "," + N2 + "," in on_haproxy(site, 'echo "show stat" | socat stdio /run/haproxy/admin.sock').stdout
    assert refresh.server_states(site, N2) == {"haproxy": "DRAIN"}
    with pytest.raises(refresh.RefreshError, match="No such server"):
        refresh.set_server_state(site, "elma365-9", "drain")
    refresh.set_server_state(site, N2, "ready")
    refresh.wait_in_service(site, N2)


def test_a_drained_server_gets_no_new_requests(site, in_service):
    refresh.set_server_state(site, N2, "drain")
    try:
        answered = {one(refresh.url(site)).node for _ in range(30)}
    finally:
        refresh.set_server_state(site, N2, "ready")
    assert answered == {MAIN, N3}
    refresh.wait_in_service(site, N2)


@pytest.fixture
def measured_refresh(site):
    site.set_durations(dict(FAST, snap_refresh=MEASURED_REFRESH))
    yield MEASURED_REFRESH
    site.set_durations(dict(FAST, snap_refresh=REFRESH))


def test_a_rolling_refresh_by_hand_fails_no_request_and_all_at_once_does(site, measured_refresh):
    for node in CLUSTER:   # whatever the tests before left: 1.28, in service
        assert by_hand.run(site, node, "snap refresh microk8s --channel=1.28/stable").returncode == 0
    for node in CLUSTER:
        refresh.wait_in_service(site, node)
    rolling = refresh.under_load(refresh.url(site), refresh.rolling_steps(site, CLUSTER, "1.29/stable"))
    print(f"\nrolling refresh by hand (1.28 -> 1.29, snap_refresh {measured_refresh} s): {rolling.summary()}")
    assert rolling.error is None, rolling.error
    assert [s.name for s in rolling.steps] == [N2, N3, MAIN]          # the main node last
    state = site.state()
    assert {n: state["nodes"][n]["microk8s"] for n in CLUSTER} == {n: "1.29/stable" for n in CLUSTER}
    assert not state.get("cordoned")
    assert rolling.failed == 0, [s.error for s in rolling.sent if not s.ok]
    assert all(s.seconds >= measured_refresh for s in rolling.steps)
    # every node's journal: drain, refresh, uncordon, in that order
    calls = [(e["node"], e["argv"][1:3]) for e in site.journal() if e["argv"][0] in ("snap", "microk8s")
             and e["argv"][1:3] in (["kubectl", "drain"], ["refresh", "microk8s"], ["kubectl", "uncordon"])]
    assert [verb for _, verb in calls[-9:]] == [["kubectl", "drain"], ["refresh", "microk8s"], ["kubectl", "uncordon"]] * 3

    naive = refresh.under_load(refresh.url(site), refresh.naive_steps(site, CLUSTER, "1.29/stable"))
    print(f"every node at once (1.29 patch refresh): {naive.summary()}")
    assert naive.error is None, naive.error
    assert {site.state()["nodes"][n]["revision"] for n in CLUSTER} == {"7660"}
    assert naive.failed > 0


@pytest.fixture
def two_balancers(tmp_path):
    lab = LabSite(str(tmp_path / "lab"))
    try:
        lab.up(nodes=3, balancers=2, durations=FAST)
        by_hand.build_cluster(lab, CLUSTER, ha=True, haproxy=False)
        refresh.program_haproxy(lab)
        yield lab
    finally:
        lab.down()


def test_every_balancer_gets_the_state_and_tells_its_own(two_balancers):
    site = two_balancers
    assert [b["name"] for b in refresh.balancers(site)] == ["haproxy-1", "haproxy-2"]
    refresh.wait_in_service(site, N3)
    refresh.set_server_state(site, N3, "drain")
    assert refresh.server_states(site, N3) == {"haproxy-1": "DRAIN", "haproxy-2": "DRAIN"}
    refresh.admin(site, refresh.balancers(site)[1], f"set server elma365_web/{N3} state ready")
    assert refresh.server_states(site, N3) == {"haproxy-1": "DRAIN", "haproxy-2": "UP"}
