"""End-to-end test of the local lab site and the simulated ELMA365 toolchain.

Needs root, OpenSSH server/client, expect and unshare (see lab/setup.sh).
Run from the repository root:  python -m pytest lab/tests -q
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
if REPO not in sys.path:
    sys.path.insert(0, REPO)

from lab.site import LAB_NET, LabSite  # noqa: E402

MISSING = [t for t in ("/usr/sbin/sshd", "ssh", "ssh-keygen", "expect", "unshare", "curl")
           if not shutil.which(t)]

pytestmark = [
    pytest.mark.skipif(os.geteuid() != 0, reason="the lab needs root (mount namespaces, sshd)"),
    pytest.mark.skipif(bool(MISSING), reason="missing tools %s: run lab/setup.sh" % MISSING),
]

N1, N2, N3 = ("127.%d.0.%d" % (LAB_NET, i) for i in (11, 12, 13))
HA = "127.%d.0.10" % LAB_NET
SECRET = "postgres://elma:S3cr3tPassw0rd@db.example:5432/elma365"

DURATIONS = {"install": 0.2, "add_node": 0, "join": 0.5, "scale": 0, "reconfigure": 0.1,
             "update_hamode": 2.0, "restart": 0.1, "snap_install": 0.1, "unreachable_timeout": 0.5}


@pytest.fixture
def lab(tmp_path):
    site = LabSite(str(tmp_path / "elma365-lab"))
    try:
        info = site.up(nodes=3, haproxy=True, durations=DURATIONS)
        yield site, info
    finally:
        site.down()
        assert not _lab_processes(site), "processes left after down()"


def _lab_processes(site):
    left = []
    for e in os.listdir("/proc"):
        if e.isdigit():
            try:
                with open("/proc/%s/cmdline" % e, "rb") as f:
                    if site.dir.encode() in f.read():
                        left.append(int(e))
            except OSError:
                pass
    return left


def ssh_argv(info, address, tty=False):
    argv = ["ssh", "-i", info["privateKeyPath"], "-p", "2222",
            "-o", "UserKnownHostsFile=%s" % info["knownHostsPath"], "-o", "StrictHostKeyChecking=yes",
            "-o", "BatchMode=yes", "-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"]
    if tty:
        argv.append("-tt")
    return argv + ["root@%s" % address]


def ssh(info, address, cmd, check=False):
    r = subprocess.run(ssh_argv(info, address) + [cmd], stdin=subprocess.DEVNULL,
                       capture_output=True, text=True, timeout=30)
    if check:
        assert r.returncode == 0, (cmd, r.stdout, r.stderr)
    return r


def tcl(s):
    return "{" + s + "}"


def interactive(info, address, cmd, answers, timeout=30):
    """Runs cmd over `ssh -tt` under expect, answering prompts from answers (prompt -> answer)."""
    lines = ["set timeout %d" % timeout, "log_user 1",
             "spawn " + " ".join(tcl(a) for a in ssh_argv(info, address, tty=True) + [cmd]),
             "expect {"]
    for prompt, answer in answers.items():
        lines.append("  -exact %s { send -- %s; exp_continue }" % (tcl(prompt), tcl(answer + "\r")))
    lines += ["  timeout { puts \"\\nEXPECT-TIMEOUT\"; exit 99 }", "  eof", "}",
              "set r [wait]", "exit [lindex $r 3]"]
    r = subprocess.run(["expect", "-c", "\n".join(lines)], capture_output=True, text=True, timeout=timeout + 10)
    return r


INSTALL_ANSWERS = {
    "Enter the domain name for ELMA365: ": "elma365.lab.local",
    "Use custom connection string? [y/N]: ": "y",
    "Use external PostgreSQL? [y/N]: ": "y",
    "PostgreSQL connection string: ": SECRET,
    "Use external MongoDB? [y/N]: ": "n",
    "Use external S3? [y/N]: ": "",
    "Use external Redis? [y/N]: ": "n",
    "Use external RabbitMQ? [y/N]: ": "n",
    "Enable autoscaling? [y/N]: ": "y",
    "Minimum number of replicas: ": "1",
    "Maximum number of replicas: ": "3",
}

ADD_NODE_RE = re.compile(
    r"\AFrom the node you wish to join to this cluster, run the following:\n"
    r"microk8s join 10\.0\.2\.15:25000/(?P<t>[0-9a-f]{32})/(?P<h>[0-9a-f]{12})\n"
    r"\n"
    r"Use the '--worker' flag to join a node as a worker not running the control plane, eg:\n"
    r"microk8s join 10\.0\.2\.15:25000/(?P=t)/(?P=h) --worker\n"
    r"\n"
    r"If the node you are adding is not reachable through the default interface you can use one of the following:\n"
    r"microk8s join 10\.0\.2\.15:25000/(?P=t)/(?P=h)\n"
    r"microk8s join " + re.escape(N1) + r":25000/(?P=t)/(?P=h)\n\Z")


def add_node(info):
    r = ssh(info, N1, "elma365ctl add-node", check=True)
    m = ADD_NODE_RE.match(r.stdout)
    assert m, r.stdout
    lines = r.stdout.splitlines()
    return lines[-1], lines[1]          # reachable line, 10.0.2.15 line


def connect_refused(address, port=8080):
    try:
        socket.create_connection((address, port), timeout=1).close()
        return False
    except ConnectionRefusedError:
        return True


def http_get(address, port=8080):
    r = subprocess.run(["curl", "-sS", "--noproxy", "*", "-m", "3", "http://%s:%d/" % (address, port)],
                       capture_output=True, text=True)
    return r.returncode, r.stdout


def test_lab_end_to_end(lab):
    site, info = lab
    t0 = time.time()
    assert [n["address"] for n in info["nodes"]] == [N1, N2, N3]
    assert info["haproxy"]["address"] == HA
    assert info["installerUrl"].startswith("http://127.0.0.1:")

    # --- each host sees its own /usr/local/bin (and /opt) -----------------
    ssh(info, N1, "touch /usr/local/bin/only-on-1 /opt/only-on-1", check=True)
    r = ssh(info, N2, "ls -A /usr/local/bin /opt", check=True)
    assert "only-on-1" not in r.stdout
    assert "elma365ctl" in r.stdout and "snap" in r.stdout and "microk8s" not in r.stdout
    assert ssh(info, N1, "ls /usr/local/bin/only-on-1 /opt/only-on-1").returncode == 0
    assert not os.path.exists("/usr/local/bin/only-on-1")
    r = ssh(info, HA, "ls /usr/local/bin; echo $ELMA365_LAB_NODE", check=True)
    assert "lab-haproxy-reload" in r.stdout and "haproxy" in r.stdout and "elma365ctl" not in r.stdout

    # --- web endpoints refuse while ELMA365 is not installed -----------------
    assert connect_refused(N1)

    # --- installer: refused without a tty, works under expect --------------
    dl = "cd /root && curl -fsSL -o elma365-installer.sh %s && chmod +x elma365-installer.sh" % info["installerUrl"]
    r = ssh(info, N1, dl + " && ./elma365-installer.sh -e enterprise")
    assert r.returncode == 1 and "interactive" in r.stderr, r
    r = interactive(info, N1, "cd /root && ./elma365-installer.sh", {})
    assert r.returncode == 1 and "edition" in r.stdout, r.stdout
    r = interactive(info, N1, "cd /root && ./elma365-installer.sh -e enterprise", INSTALL_ANSWERS)
    assert r.returncode == 0, r.stdout
    st = site.state()
    assert st["installed"] and st["main"] == {"name": "elma365-1", "address": N1}
    assert st["settings"]["autoscaling"] and st["settings"]["external"] == ["PostgreSQL"]
    assert SECRET not in json.dumps(st)
    assert ssh(info, N1, "test -x /usr/local/bin/microk8s").returncode == 0
    assert http_get(N1) == (0, "ELMA365 lab node elma365-1\n")
    # a cluster of one keeps its datastore on 127.0.0.1, as MicroK8s does until a node joins
    assert "datastore master nodes: 127.0.0.1:19001\n" in ssh(info, N1, "microk8s status", check=True).stdout
    r = ssh(info, N1, "microk8s kubectl get pods -n elma365", check=True)
    assert r.stdout.split()[:5] == ["NAME", "READY", "STATUS", "RESTARTS", "AGE"] and "main-" in r.stdout, r
    r = ssh(info, N1, "microk8s kubectl get pods --namespace elma365 --no-headers", check=True)
    assert "NAME" not in r.stdout and r.stdout.split()[1:5] == ["1/1", "Running", "0", "1h"], r

    # --- scale refused while autoscaling is on -----------------------------
    r = ssh(info, N1, "elma365ctl scale all 3")
    assert r.returncode == 1 and "Manual scaling is not available while autoscaling is enabled" in r.stderr

    # --- add-node must run on the main node ---------------------------------
    assert ssh(info, N2, "elma365ctl add-node").returncode == 1

    # --- join ----------------------------------------------------------------
    good, unreachable = add_node(info)
    ssh(info, N2, "snap install microk8s --classic --channel=1.28/stable && snap list microk8s", check=True)
    r = ssh(info, N2, "microk8s status")
    assert "datastore master nodes: 127.0.0.1:19001" in r.stdout
    r = ssh(info, N2, "microk8s kubectl get pods --namespace=elma365 --no-headers")   # a lone MicroK8s
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "No resources found in elma365 namespace.\n"), r
    r = ssh(info, N2, unreachable)
    assert r.returncode == 1 and "timed out" in r.stderr, r
    r = ssh(info, N2, "microk8s kubectl get node elma365-2")
    assert r.returncode == 1 and 'nodes "elma365-2" not found' in r.stderr
    ssh(info, N2, good, check=True)
    assert ssh(info, N2, "microk8s kubectl get node elma365-2").returncode == 0
    r = ssh(info, N1, "microk8s status", check=True)
    # go-dqlite's roles (app/roles.go): a cluster of fewer than 3 keeps one voter, the other a spare
    assert "datastore master nodes: %s:19001\n  datastore standby nodes: none\n" % N1 in r.stdout, r.stdout
    assert "main-" in ssh(info, N2, "microk8s kubectl get pods -n elma365 --no-headers", check=True).stdout
    ssh(info, N2, "microk8s stop", check=True)
    r = ssh(info, N2, "microk8s kubectl get pods -n elma365 --no-headers")
    assert r.returncode == 1 and r.stderr == ("The connection to the server 127.0.0.1:16443 was refused - "
                                              "did you specify the right host or port?\n"), r
    ssh(info, N2, "microk8s start", check=True)
    assert "already part of a cluster" in ssh(info, N2, good).stderr
    ssh(info, N3, "snap install microk8s --classic --channel=1.28/stable", check=True)
    r = ssh(info, N3, good)            # spent token
    assert r.returncode == 1 and "Invalid token" in r.stderr, r

    # --- HA refused with 2 nodes ----------------------------------------------
    reconf = {
        "Use custom connection string? [y/N]: ": "n",
        "Enable autoscaling? [y/N]: ": "n",
        "Enable Linkerd? [Y/n]: ": "",
        "Enable high availability mode? [y/N]: ": "y",
        "Number of replicas for system services (minimum 3): ": "3",
        "Time of moving application services from failed nodes, seconds (10-300): ": "60",
    }
    r = interactive(info, N2, "elma365ctl reconfigure", reconf)
    assert r.returncode == 1 and "at least 3 nodes" in r.stdout, r.stdout
    assert not site.state()["settings"].get("ha")
    r = ssh(info, N2, "elma365ctl reconfigure")
    assert r.returncode == 1 and "terminal" in r.stderr

    # --- third node joins, HA on ---------------------------------------------
    good, _ = add_node(info)
    ssh(info, N3, good, check=True)
    r = ssh(info, N1, "microk8s status")
    assert "high-availability: yes" in r.stdout
    assert "datastore master nodes: %s:19001 %s:19001 %s:19001" % (N1, N2, N3) in r.stdout
    r = interactive(info, N1, "elma365ctl reconfigure", dict(reconf, **{
        "Time of moving application services from failed nodes, seconds (10-300): ": "301"}))
    assert r.returncode == 1 and "between 10 and 300" in r.stdout
    r = interactive(info, N1, "elma365ctl reconfigure", reconf)
    assert r.returncode == 0, r.stdout
    st = site.state()["settings"]
    assert st["ha"] and st["haReplicas"] == 3 and st["failoverSeconds"] == 60 and not st["autoscaling"]
    ssh(info, N1, "elma365ctl scale all 3", check=True)

    # --- two update-hamode at once: the second is refused; node down meanwhile
    first = subprocess.Popen(ssh_argv(info, N1) + ["elma365ctl update-hamode"], stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 10
    while not (site.state().get("updatingHamode") or {}).get("node") and time.time() < deadline:
        time.sleep(0.05)
    r = ssh(info, N2, "elma365ctl update-hamode")
    assert r.returncode == 1 and "update-hamode is already running on elma365-1" in r.stderr, r
    time.sleep(0.3)
    assert connect_refused(N1)
    assert http_get(N2) == (0, "ELMA365 lab node elma365-2\n")
    assert ssh(info, N1, "microk8s status --wait-ready --timeout 0.2").returncode == 1
    out, err = first.communicate(timeout=20)
    assert first.returncode == 0, (out, err)
    ssh(info, N1, "microk8s status --wait-ready --timeout 5", check=True)
    deadline = time.time() + 3
    while connect_refused(N1) and time.time() < deadline:
        time.sleep(0.1)
    assert http_get(N1)[0] == 0

    # --- fault: join_fail_once --------------------------------------------------
    assert ssh(info, N3, "microk8s leave").returncode == 0
    assert "datastore master nodes: 127.0.0.1:19001\n" in ssh(info, N3, "microk8s status").stdout
    assert ssh(info, N3, "microk8s kubectl get pods -n elma365").stdout == ""
    assert "127.0.0.1:19001" not in ssh(info, N1, "microk8s status").stdout   # the main's datastore stays moved
    # still a member: MicroK8s' remove_node.py prints its refusal on stdout and exits 1
    refused = ssh(info, N1, "microk8s remove-node elma365-2")
    assert refused.returncode == 1 and "microk8s leave" in refused.stdout, refused
    ssh(info, N1, "microk8s remove-node elma365-3", check=True)
    site.set_faults({"join_fail_once": "elma365-3"})
    good, _ = add_node(info)
    r = ssh(info, N3, good)
    assert r.returncode == 1 and "Invalid token" in r.stderr
    assert site.state()["tokens"]          # token consumed
    good, _ = add_node(info)
    ssh(info, N3, good, check=True)
    assert "join_fail_once" not in json.load(open(os.path.join(info["stateDir"], "faults.json")))

    # --- haproxy host: start + reload ---------------------------------------------
    cfg = ("global\n  daemon\ndefaults\n  mode http\n  timeout connect 2s\n  timeout client 5s\n"
           "  timeout server 5s\nlisten elma365_web\n  bind " + HA + ":8088\n  balance leastconn\n"
           "  option httpchk HEAD /\n" +
           "".join("  server elma365-%d %s:8080 check inter 200ms\n" % (i, a) for i, a in ((1, N1), (2, N2), (3, N3))))
    ssh(info, HA, "cat > /etc/haproxy/haproxy.cfg <<'EOF'\n%sEOF\nlab-haproxy-reload" % cfg, check=True)
    assert not os.path.exists("/etc/haproxy/haproxy.cfg") or "elma365_web" not in open("/etc/haproxy/haproxy.cfg").read()
    deadline = time.time() + 5
    while http_get(HA, 8088)[0] != 0 and time.time() < deadline:
        time.sleep(0.2)
    assert http_get(HA, 8088)[1].startswith("ELMA365 lab node")
    ssh(info, HA, "lab-haproxy-reload", check=True)
    r = ssh(info, HA, "echo 'bogus line' >> /etc/haproxy/haproxy.cfg; lab-haproxy-reload")
    assert r.returncode != 0 and "bogus" in r.stderr

    # --- unreachable node -----------------------------------------------------------
    site.stop_node("elma365-3")
    assert ssh(info, N3, "true").returncode == 255
    site.start_node("elma365-3")
    assert ssh(info, N3, "ls /usr/local/bin/microk8s").returncode == 0   # private dirs persist

    # --- journal ----------------------------------------------------------------------
    journal = site.journal()
    raw = open(os.path.join(info["stateDir"], "journal.jsonl")).read()
    assert SECRET not in raw and "S3cr3t" not in raw
    for e in journal:
        assert set(e) == {"start", "end", "node", "argv", "rc"} and e["end"] >= e["start"]
    joins = [e for e in journal if e["argv"][:2] == ["microk8s", "join"]]
    assert joins and all(e["argv"][2] == "<redacted>" for e in joins)
    assert not re.search(r"[0-9a-f]{32}", raw)
    assert {"node": "elma365-1", "argv": ["elma365-installer.sh", "-e", "enterprise"], "rc": 0} in [
        {k: e[k] for k in ("node", "argv", "rc")} for e in journal]
    hamode = [e for e in journal if e["argv"] == ["elma365ctl", "update-hamode"]]
    assert [(e["node"], e["rc"]) for e in hamode] == [("elma365-2", 1), ("elma365-1", 0)]
    assert time.time() - t0 < 60


def test_down_is_idempotent(tmp_path):
    site = LabSite(str(tmp_path / "lab"))
    site.down()                     # nothing there yet
    site.up(nodes=1, haproxy=False)
    site.down()
    site.down()
    assert not _lab_processes(site)
