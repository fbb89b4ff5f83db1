"""`make verify` without servers: what runs on each host and how the captured outputs are read (the
fact layer, components/facts/), what drifts and which one command repairs each (components/verify/
checks/, repairs.py, report.py), and how the config is read (components/verify/cli.py)."""
from __future__ import annotations

import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
from functools import lru_cache
from pathlib import Path

import pytest

from components.facts import elma365, microk8s, node
from components.facts import haproxy as hf
from components.facts import sections as fs
from components.render import haproxy as haproxy_render
from components.verify import checks, cli, collect, repairs
from components.verify import report as printed
from components.site import parse_site
from lab.harness import is_check
from tests.sites import SECRET_KEYS, TEST_KEY, example

ROOT = Path(__file__).resolve().parent.parent
HAPROXY_V = ("HAProxy version 2.6.12-1+deb12u4 2026/10/17 - https://haproxy.org/\n"
             "Status: long-term supported branch - will stop receiving fixes around Q2 2027.")

# ---------------------------------------------------------------- captured outputs (the lab's tools)

STATUS = """microk8s is running
high-availability: yes
  datastore master nodes: 192.168.1.51:19001 192.168.1.52:19001 192.168.1.53:19001
  datastore standby nodes: none
addons:
  enabled:
    dns                  # (core) CoreDNS
    ha-cluster           # (core) Configure high availability on the current node
    helm                 # (core) Helm - the package manager for Kubernetes"""
NOT_RUNNING = "microk8s is not running. Use microk8s inspect for a deeper inspection."
NODES = """NAME         STATUS   ROLES    AGE   VERSION
elma365-1    Ready    <none>   1h    v1.28.15
elma365-2    Ready    <none>   1h    v1.28.15
elma365-3    Ready    <none>   1h    v1.28.15"""
VERSION = "MicroK8s v1.28.15 revision 7449"
SNAP = """Name      Version   Rev   Tracking       Publisher   Notes
microk8s  v1.28.15  7449  1.28/stable    canonical** classic,held"""
CTL = """edition: enterprise
domain: elma365.example.com
main node: elma365-1 (192.168.1.51)
nodes: elma365-1(up), elma365-2(up), elma365-3(up)
external services: none
autoscaling: disabled
linkerd: enabled
high availability: enabled (replicas 3, failover 60s)
hamode updated on: elma365-1, elma365-2, elma365-3
replicas: {"all": 3}
restarts: 1"""
KUBECONFIG = """apiVersion: v1
    server: https://192.168.1.51:16443
current-context: microk8s
kind: Config
    token: <present>"""
STATS = """# pxname,svname,qcur,qmax,scur,smax,slim,stot,bin,bout,dreq,dresp,ereq,econ,eresp,wretr,wredis,status,weight
elma365_web,FRONTEND,,,0,1,4096,3,0,0,0,0,0,,,,,OPEN,
elma365_web,elma365-1,0,0,0,1,,1,0,0,,0,,0,0,0,0,UP,1
elma365_web,elma365-2,0,0,0,1,,1,0,0,,0,,0,0,0,0,UP,1
elma365_web,elma365-3,0,0,0,0,,0,0,0,,0,,0,0,0,0,DOWN,1
elma365_web,BACKEND,0,0,0,1,410,3,0,0,0,0,,0,0,0,0,UP,2
stats,FRONTEND,,,1,1,4096,2,0,0,0,0,0,,,,,OPEN,"""
ALL_UP = STATS.replace(",DOWN,", ",UP,")


def site_of(**changes):
    return parse_site(example(**changes), SECRET_KEYS | {"haproxy"})


SITE = site_of()
CTX = repairs.Context(stack="prod")


def S(out: str, rc: int = 0) -> fs.Section:
    return fs.Section(rc, out)


QUORUM = "quorum ok\nvoters 192.168.1.51:19001=up 192.168.1.52:19001=up 192.168.1.53:19001=up\ndqlite up"


def healthy(site=SITE) -> dict[str, fs.HostOutput]:
    hosts = {}
    for node in site.active:
        sections = {"status": S(STATUS), "version": S(VERSION), "snap": S(SNAP), "quorum": S(QUORUM)}
        if node == site.main:
            sections.update(nodes=S(NODES), elma365ctl=S(CTL), kubeconfig=S(KUBECONFIG))
        hosts[node.name] = fs.HostOutput(True, sections)
    config = haproxy_render.haproxy_config(site.haproxy, site.active, (2, 6))   # as the program renders it
    sections = {"haproxy-version": S(HAPROXY_V), "config": S(config.rstrip("\n")),
                "config-sha256": S(hashlib.sha256(config.encode()).hexdigest() + "  -")}
    for node in site.active:
        sections[f"health-{node.name}"] = S("http_code=200")
    if hf.admin_socket(config):   # HAProxy's own view, through the admin socket that config declares
        sections["backend-state"] = S(ALL_UP)
    hosts[hf.HAPROXY] = fs.HostOutput(True, sections)
    return hosts


@lru_cache(maxsize=None)
def on_node(read: str, text: str) -> str:
    """What a filter of the fact layer (components/facts/node.py) prints for a captured output, run
    by bash as the host script runs it on the node (verify-section.sh's `derive`)."""
    done = subprocess.run(["bash", "-c", f'printf "%s\\n" "$1" | {read}', "_", text], capture_output=True,
                          text=True, check=True, timeout=30)
    return done.stdout.rstrip("\n")


def compare(site, hosts, ctx=CTX):
    """checks.compare, once each node's filters have read its outputs (NODE_FACTS: the datastore's
    voters and members, the snap channel), as the node does in its session."""
    for out in hosts.values():
        for name, source, read in microk8s.NODE_FACTS:
            if source in out.sections:
                out.sections[name] = S(on_node(read, out.sections[source].out))
    return checks.compare(site, hosts, ctx)


def drifts(rows):
    return [(r.where, r.check) for r in rows if r.status == checks.DRIFT]


def row(rows, where, check):
    found = [r for r in rows if r.where == where and r.check.startswith(check)]
    assert len(found) == 1, (where, check, [(r.where, r.check) for r in rows])
    return found[0]


# ---------------------------------------------------------------- parsing

def test_sections_come_back_between_markers_with_their_exit_status():
    out = (f"{fs.MARK} begin status\nmicrok8s is running\n\n{fs.MARK} end status 0\n"
           f"{fs.MARK} begin nodes\nthe connection to the server was refused\n{fs.MARK} end nodes 1\nnoise\n")
    assert fs.parse_sections(out) == {"status": fs.Section(0, "microk8s is running\n"),
                                     "nodes": fs.Section(1, "the connection to the server was refused")}
    assert fs.parse_sections("ssh: connect to host x port 22: Connection refused") == {}


def status_of(text: str) -> microk8s.Microk8sStatus:
    """`microk8s status` as the checks read it: with its datastore as the node's filters read it."""
    read = {name: on_node(f, text) for name, source, f in microk8s.NODE_FACTS if source == "status"}
    return microk8s.parse_microk8s_status(text, read["voters"], read["datastore"])


def test_microk8s_status_gives_voters_standbys_and_ha():
    status = status_of(STATUS)
    assert status.running and status.high_availability == "yes"
    assert status.masters == ("192.168.1.51:19001", "192.168.1.52:19001", "192.168.1.53:19001")
    assert status.standby == ()
    five = STATUS.replace("datastore standby nodes: none", "datastore standby nodes: 10.0.0.4:19001 10.0.0.5:19001")
    assert status_of(five).standby == ("10.0.0.4:19001", "10.0.0.5:19001")
    assert not status_of(NOT_RUNNING).running
    # the members are the preflight's `datastore` fact, read by the same filter as in facts.sh
    assert status_of(five).members == tuple(on_node(node.datastore_members(), five).split()) == (
        "192.168.1.51:19001", "192.168.1.52:19001", "192.168.1.53:19001", "10.0.0.4:19001", "10.0.0.5:19001")
    assert node.datastore_members() in node.facts_script(SITE.main.name)


def test_kubectl_nodes_versions_snap_and_microk8s_version():
    assert microk8s.parse_kubectl_nodes(NODES)["elma365-2"] == ("Ready", "v1.28.15")
    cordoned = NODES.replace("elma365-3    Ready   ", "elma365-3    Ready,SchedulingDisabled")
    assert microk8s.parse_kubectl_nodes(cordoned)["elma365-3"][0] == "Ready,SchedulingDisabled"
    assert microk8s.parse_kubectl_nodes("error: the server doesn't have a resource type") == {}
    assert microk8s.parse_microk8s_version(VERSION) == ("v1.28.15", "7449")
    # the snap channel: the preflight's and the steps' own read (facts.sh, microk8s-channel.sh, join-prepare.sh)
    assert microk8s.parse_channel(on_node(node.CHANNEL_OF, SNAP)) == "1.28/stable"
    assert microk8s.parse_channel(on_node(node.CHANNEL_OF, "error: no matching snaps installed")) is None


def test_elma365ctl_status_fields():
    fields = elma365.parse_elma365ctl_status(CTL)
    assert elma365.parse_ctl_nodes(fields["nodes"]) == {"elma365-1": "up", "elma365-2": "up", "elma365-3": "up"}
    assert elma365.parse_ctl_ha(fields["high availability"]) == (True, 3, 60)
    assert elma365.parse_ctl_ha("disabled") == (False, None, None)
    assert elma365.parse_ctl_autoscaling("enabled (min 1, max 3)") == (True, 1, 3)
    assert elma365.parse_ctl_replicas(fields["replicas"]) == {"all": 3}
    assert elma365.parse_ctl_replicas("default") == {}
    assert elma365.parse_list(fields["hamode updated on"]) == ["elma365-1", "elma365-2", "elma365-3"]
    assert elma365.parse_list("none") == []


def test_kubeconfig_credentials_never_leave_the_node():
    # the awk filter runs on the node: only the kind of credentials comes back
    full = ("apiVersion: v1\nclusters:\n- cluster:\n    certificate-authority-data: Q0EK\n"
            "    server: https://192.168.1.51:16443\n  name: microk8s-cluster\nkind: Config\n"
            "users:\n- name: admin\n  user:\n    token: 61e580a8a972680332324244d70ad53a\n")
    awk = shlex.split(microk8s.KUBECONFIG_SUMMARY.split("|", 1)[1])
    shown = subprocess.run(awk, input=full, capture_output=True, text=True, check=True).stdout
    assert "61e580a8" not in shown and "Q0EK" not in shown
    assert microk8s.parse_kubeconfig_summary(shown) == {"apiVersion": "v1", "server": "https://192.168.1.51:16443",
                                                 "kind": "Config", "credentials": "token"}


def test_curl_health_and_stats_csv():
    assert hf.parse_curl_health(S("http_code=200")) == (200, "")
    code, reason = hf.parse_curl_health(S("http_code=000\ncurl: (7) Failed to connect to 192.168.1.53 port 80", 7))
    assert code is None and "Failed to connect" in reason
    assert hf.parse_curl_health(S("", 127)) == (None, "curl is not installed on the HAProxy host")
    assert hf.parse_stats_csv(STATS) == {"elma365-1": "UP", "elma365-2": "UP", "elma365-3": "DOWN"}


def test_config_difference_names_the_line_and_never_the_stats_password():
    stats = {"bind": "127.0.0.1:8404", "user": "admin", "password": "S3cret-stats"}
    site = site_of(haproxy={**example()["haproxy"], "stats": stats})
    applied = hf.haproxy_config(site.haproxy, site.active, (2, 6))
    live = applied.replace("timeout server 10m", "timeout server 20m").replace("S3cret-stats", "0ther-pass")
    text = hf.config_difference(applied, live)
    line = applied.splitlines().index("    timeout server 10m") + 1
    assert f"line {line} is 'timeout server 20m', applied 'timeout server 10m'" in text
    assert "S3cret" not in hf.config_difference(applied, applied.replace("S3cret-stats", "0ther-pass"))
    assert "0ther" not in text


# ---------------------------------------------------------------- what runs on the hosts

READ_ONLY = {"microk8s status", "microk8s version", "snap list microk8s", "microk8s kubectl get nodes",
             "elma365ctl status", "microk8s config", "haproxy -v"}


def test_host_scripts_run_only_read_only_commands():
    commands = [c for name, c in microk8s.node_sections(main=True) if name not in ("certificates", "quorum")]
    # the certificates are read as the preflight reads them: openssl x509 and date, nothing else
    certificates = dict(microk8s.node_sections(main=False))["certificates"]
    assert set(re.findall(r'"\$ssl" (\S+)', certificates)) == {"x509"} and "microk8s" not in certificates.replace(
        "/snap/microk8s/current", "").replace("MicroK8s", "").replace("microk8s refresh-certs -c", "")
    # the quorum read: the preflight's own (facts-datastore.sh): files, port probes, `dqlite .leader`
    assert dict(microk8s.node_sections(main=True))["quorum"] == microk8s.QUORUM_READ
    for command in commands:
        tool = command.replace("$T ", "").split(" |")[0]
        assert tool in READ_ONLY, tool
        argv = tool.split()
        assert is_check(argv), argv   # what the lab's journal counts as a read-only call
    stats = {"bind": "*:8404", "user": "admin", "password": "S3cret-stats"}
    # HAProxy's own view: the admin socket of the program's config, else (on a shared host, whose
    # `global` is the host's) the stats page
    own, shared = (site_of(haproxy={**example()["haproxy"], "stats": stats, **extra}) for extra in ({}, {"shared": True}))
    sections = hf.haproxy_sections(own, with_stats=True) + hf.haproxy_sections(shared, with_stats=True)
    assert {name for name, _, _ in sections} >= {"backend-state", "stats"}
    for name, command, reads_stdin in sections:
        assert reads_stdin == (name == "stats")
        if name == "backend-state":   # `show stat` alone (test_show_stat_reads_the_admin_socket_without_socat)
            assert command == hf.show_stat_command(haproxy_render.ADMIN_SOCKET)
            continue
        words = command.split()
        assert words[0] in ("haproxy", "cat", "sha256sum", "command"), command
        assert "S3cret" not in command and ">" not in command.replace(">/dev/null", "")
    assert hf.stats_url("*:8404", "/") == "http://127.0.0.1:8404/;csv"
    assert hf.curl_config("admin", 'a"b\\c') == 'user = "admin:a\\"b\\\\c"\n'


def test_the_host_script_runs_every_section_even_when_one_fails(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool, text, rc in (("microk8s", NOT_RUNNING, 1), ("snap", SNAP, 0), ("elma365ctl", CTL, 0)):
        (bin_dir / tool).write_text(f"#!/bin/bash\ncat <<'EOF'\n{text}\nEOF\nexit {rc}\n")
        (bin_dir / tool).chmod(0o755)
    script = shlex.split(microk8s.node_script(SITE, main=True))[-1]
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    sections = fs.parse_sections(done.stdout)
    assert set(sections) == {"status", "version", "snap", "certificates", "quorum", "nodes", "elma365ctl", "kubeconfig",
                             "backups", "voters", "datastore", "channel", "held"}   # the last four: read on the node from the others
    assert sections["status"] == fs.Section(1, NOT_RUNNING)
    assert sections["snap"] == fs.Section(0, SNAP)
    assert sections["channel"] == fs.Section(0, "1.28/stable") and sections["held"] == fs.Section(0, "held")
    assert sections["voters"] == sections["datastore"] == fs.Section(0, "")   # MicroK8s does not run
    # with MicroK8s running, its datastore as the preflight reads it
    (bin_dir / "microk8s").write_text(f"#!/bin/bash\ncat <<'EOF'\n{STATUS}\nEOF\n")
    done = subprocess.run(["bash", "-c", script], capture_output=True, text=True, timeout=30,
                          env={"PATH": f"{bin_dir}:/usr/bin:/bin"})
    sections = fs.parse_sections(done.stdout)
    assert sections["datastore"].out == sections["voters"].out == "192.168.1.51:19001 192.168.1.52:19001 192.168.1.53:19001"


def test_sudo_wraps_the_host_script_for_a_user_other_than_root():
    site = site_of(ssh={**example()["ssh"], "user": "deploy", "sudo": True})
    assert fs.host_script(site, microk8s.node_sections(main=False)).startswith("sudo -n bash -c ")
    assert repairs.Target("10.0.0.1", 22, "deploy").ssh(["microk8s start"]) == "ssh deploy@10.0.0.1 sudo microk8s start"


def test_a_bastion_is_the_jump_host_of_every_session_and_of_every_repair_line(tmp_path):
    bastion = {"host": "10.0.0.9", "port": 2200, "user": "jump", "hostKey": "ssh-ed25519 AAAAbastion"}
    site = site_of(ssh={**example()["ssh"], "bastion": bastion})
    argv = collect.Ssh(site, "/keys/my key", str(tmp_path)).argv("elma365-1", "192.168.1.51", 22, "root", None)
    proxy = next(a for a in argv if a.startswith("ProxyCommand="))
    assert "-W %h:%p jump@10.0.0.9" in proxy.replace("'", "") and "'/keys/my key'" in proxy
    assert (tmp_path / "known_hosts-bastion").read_text() == "[10.0.0.9]:2200 ssh-ed25519 AAAAbastion\n"
    assert argv[-1] == "root@192.168.1.51"
    r = repairs.ssh_repair(site, "elma365-3", "microk8s start")
    assert r.text == "ssh -J jump@10.0.0.9:2200 root@192.168.1.53 microk8s start"


# ---------------------------------------------------------------- compare and repair

def test_a_healthy_site_matches_everywhere():
    rows = compare(SITE, healthy(), CTX)
    assert drifts(rows) == []
    assert printed.exit_code(rows) == 0
    assert [(r.where, r.check) for r in rows if r.status == checks.SKIP] == []
    found = {r.check for r in rows}
    for expected in ("in the cluster and Ready", "MicroK8s version", "datastore voters (microk8s status)",
                     "HA mode (elma365ctl status)", "replicas: all (elma365ctl status)",
                     "autoscaling (elma365ctl status)", "kubeconfig readable (microk8s config)",
                     "live /etc/haproxy/haproxy.cfg = applied", "backend elma365-3 health: HEAD / :80",
                     "backend elma365-3 state (admin socket)"):
        assert expected in found, expected
    text = printed.report(rows)
    assert text.splitlines()[0].split() == ["NODE", "CHECK", "EXPECTED", "(config)", "FOUND"]
    assert "0 drift, 0 skipped (not verified: none)" in text
    assert "come from `elma365ctl status`" in text


LONE = STATUS.replace("192.168.1.51:19001 192.168.1.52:19001 192.168.1.53:19001", "127.0.0.1:19001").replace(
    "high-availability: yes", "high-availability: no")


def test_a_main_node_nobody_joined_lists_127_0_0_1_and_that_voter_is_the_main_node():
    # MicroK8s keeps the datastore of a cluster of one on 127.0.0.1 until a node joins
    one = site_of(nodes=example()["nodes"][:1], ha={"enabled": False})
    hosts = healthy(one)
    main = hosts["elma365-1"].sections
    main["status"] = S(LONE)
    rows = compare(one, hosts, CTX)
    voters = row(rows, "cluster", "datastore voters")
    assert voters.status == checks.OK and voters.found == "1: 127.0.0.1:19001"
    assert row(rows, "cluster", "MicroK8s high-availability").status == checks.OK
    # with three nodes in the config, the two that never joined are missing, not 127.0.0.1 extra
    hosts = healthy()
    hosts["elma365-1"].sections["status"] = S(LONE)
    for name in ("elma365-2", "elma365-3"):
        hosts[name].sections["status"] = S(LONE)
    voters = row(compare(SITE, hosts, CTX), "cluster", "datastore voters")
    assert voters.status == checks.DRIFT and "extra" not in voters.found and "no node of the config" not in voters.repair.text


def test_a_stopped_node_is_repaired_by_starting_microk8s():
    hosts = healthy()
    hosts["elma365-3"].sections["status"] = S(NOT_RUNNING, 1)
    main = hosts["elma365-1"].sections
    main["nodes"] = S(NODES.replace("elma365-3    Ready   ", "elma365-3    NotReady"))
    main["elma365ctl"] = S(CTL.replace("elma365-3(up)", "elma365-3(down)"))
    hosts[hf.HAPROXY].sections["health-elma365-3"] = S("http_code=000\ncurl: (7) Failed to connect", 7)
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-3", "MicroK8s running"), ("elma365-3", "in the cluster and Ready"),
                            ("cluster", "ELMA365 nodes up (elma365ctl status)"),
                            ("haproxy 192.168.1.50", "backend elma365-3 health: HEAD / :80")]
    assert {r.repair.text for r in rows if r.status == checks.DRIFT} == {"ssh root@192.168.1.53 microk8s start"}
    assert row(rows, "elma365-3", "in the cluster").found == "NotReady"
    assert printed.exit_code(rows) == 1
    assert "DRIFT elma365-3: MicroK8s running: ssh root@192.168.1.53 microk8s start" in printed.report(rows)


def test_an_unreachable_node_is_reported_as_such_and_its_version_read_from_kubectl():
    hosts = healthy()
    hosts["elma365-2"] = fs.HostOutput(False, error="ssh: connect to host 192.168.1.52 port 22: No route to host")
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-2", "reachable over SSH")]
    r = row(rows, "elma365-2", "reachable")
    assert r.found.startswith("unreachable (ssh: connect to host 192.168.1.52 port 22: No route to host)")
    assert r.repair.manual and "ssh root@192.168.1.52 true" in r.repair.text
    assert row(rows, "elma365-2", "MicroK8s version").found == "v1.28.15 (kubectl get nodes on elma365-1)"


def test_an_unreachable_main_node_skips_the_cluster_checks_instead_of_passing_them():
    hosts = healthy()
    hosts["elma365-1"] = fs.HostOutput(False, error="Connection timed out")
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-1", "reachable over SSH")]
    skipped = {r.check for r in rows if r.status == checks.SKIP}
    assert {"in the cluster and Ready", "HA mode (elma365ctl status)", "datastore voters (microk8s status)",
            "kubeconfig readable (microk8s config)"} <= skipped


def test_another_microk8s_version_is_refreshed_to_the_main_nodes_channel():
    hosts = healthy()
    hosts["elma365-2"].sections["version"] = S("MicroK8s v1.29.9 revision 7231")
    hosts["elma365-2"].sections["snap"] = S(SNAP.replace("v1.28.15  7449  1.28/stable", "v1.29.9   7231  1.29/stable"))
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-2", "MicroK8s version")]
    r = row(rows, "elma365-2", "MicroK8s version")
    assert (r.expected, r.found) == ("v1.28.15 (as elma365-1, 1.28/stable)", "v1.29.9 (rev 7231, 1.29/stable)")
    assert r.repair.text == "ssh root@192.168.1.52 snap refresh microk8s --channel=1.28/stable"
    assert r.repair.ssh == (("elma365-2", ("snap refresh microk8s --channel=1.28/stable",)),)


def test_ha_switched_off_by_hand_runs_the_settings_and_the_ha_roll_out_again():
    hosts = healthy()
    hosts["elma365-1"].sections["elma365ctl"] = S(CTL.replace("enabled (replicas 3, failover 60s)", "disabled")
                                                  .replace("elma365-1, elma365-2, elma365-3", "none"))
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("cluster", "HA mode (elma365ctl status)"),
                            ("cluster", "HA mode rolled out on (elma365ctl status)")]
    repair = row(rows, "cluster", "HA mode (").repair
    assert repair == row(rows, "cluster", "HA mode rolled").repair
    applied = "/var/lib/elma365-cluster/applied"
    assert repair.ssh == (("elma365-1", (f"truncate -s 0 {applied}/settings {applied}/hamode {applied}/restart",)),
                          ("elma365-2", (f"truncate -s 0 {applied}/hamode",)),
                          ("elma365-3", (f"truncate -s 0 {applied}/hamode",)))
    prefix = "urn:pulumi:prod::elma365-cluster::elma365:cluster:Elma365Cluster$elma365:cluster:"
    assert repair.replace == (prefix + "Settings$command:remote:Command::reconfigure",
                              prefix + "HighAvailability$command:remote:Command::elma365-1-update-hamode",
                              prefix + "HighAvailability$command:remote:Command::elma365-2-update-hamode",
                              prefix + "HighAvailability$command:remote:Command::elma365-3-update-hamode",
                              prefix + "HighAvailability$command:remote:Command::restart")
    assert repair.text.startswith(f"ssh root@192.168.1.51 truncate -s 0 {applied}/settings")
    assert f" && pulumi up --stack prod --replace '{prefix}Settings$command:remote:Command::reconfigure'" in repair.text


def test_ha_switched_on_by_hand_where_the_config_has_it_off():
    site = site_of(ha={"enabled": False})
    hosts = healthy(site)
    rows = compare(site, hosts, CTX)
    assert drifts(rows) == [("cluster", "HA mode (elma365ctl status)")]
    r = row(rows, "cluster", "HA mode (")
    assert (r.expected, r.found) == ("disabled", "enabled (replicas 3, failover 60s)")
    assert [u.rsplit("::", 1)[1] for u in r.repair.replace][-1] == "restart"


def test_autoscaling_switched_on_by_hand_also_runs_the_scale_steps_again():
    hosts = healthy()
    hosts["elma365-1"].sections["elma365ctl"] = S(CTL.replace("autoscaling: disabled", "autoscaling: enabled (min 1, max 3)"))
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("cluster", "autoscaling (elma365ctl status)")]
    repair = row(rows, "cluster", "autoscaling").repair
    assert [u.rsplit("::", 1)[1] for u in repair.replace] == ["reconfigure", "scale-all"]
    assert repair.ssh == (("elma365-1", ("truncate -s 0 /var/lib/elma365-cluster/applied/settings "
                                         "/var/lib/elma365-cluster/applied/scale-all",)),)


def test_a_replica_count_changed_by_hand_is_scaled_back():
    site = site_of(scaling={"replicas": {"all": 3, "main": 2}})
    hosts = healthy(site)
    hosts["elma365-1"].sections["elma365ctl"] = S(CTL.replace('{"all": 3}', '{"all": 3, "main": 5, "worker": 4}'))
    rows = compare(site, hosts, CTX)
    assert drifts(rows) == [("cluster", "replicas: main (elma365ctl status)"),
                            ("cluster", "replicas: worker (elma365ctl status)")]
    r = row(rows, "cluster", "replicas: worker")
    assert (r.expected, r.found) == ("3 (as all)", "4")
    assert r.repair.text == "ssh root@192.168.1.51 'elma365ctl scale all 3 && elma365ctl scale main 2'"


def test_ha_and_a_count_changed_by_hand_share_one_repair_that_runs_the_scale_steps_too():
    hosts = healthy()
    hosts["elma365-1"].sections["elma365ctl"] = S(CTL.replace("enabled (replicas 3, failover 60s)", "disabled")
                                                  .replace('{"all": 3}', '{"all": 5}'))
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("cluster", "HA mode (elma365ctl status)"), ("cluster", "replicas: all (elma365ctl status)")]
    [fix] = {r.repair for r in rows if r.status == checks.DRIFT}
    assert [u.rsplit("::", 1)[1] for u in fix.replace] == ["reconfigure", "scale-all", "elma365-1-update-hamode",
                                                          "elma365-2-update-hamode", "elma365-3-update-hamode", "restart"]


def test_a_figure_elma365ctl_does_not_print_is_skipped_not_passed():
    hosts = healthy()
    hosts["elma365-1"].sections["elma365ctl"] = S("ELMA365 is running")   # another vendor output
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == []
    r = row(rows, "cluster", "HA mode (")
    assert r.status == checks.SKIP and "printed no 'high availability' line" in r.found


def test_the_haproxy_config_edited_on_the_host_is_put_back_by_replacing_its_steps():
    hosts = healthy()
    live = hosts[hf.HAPROXY].sections["config"].out.replace("timeout server 10m", "timeout server 20m")
    hosts[hf.HAPROXY].sections["config"] = S(live)
    hosts[hf.HAPROXY].sections["config-sha256"] = S(hashlib.sha256((live + "\n").encode()).hexdigest() + "  -")
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("haproxy 192.168.1.50", "live /etc/haproxy/haproxy.cfg = applied")]
    r = row(rows, "haproxy 192.168.1.50", "live")
    line = live.splitlines().index("    timeout server 20m") + 1
    assert r.found == f"differs (+1/-1 lines); line {line} is 'timeout server 20m', applied 'timeout server 10m'"
    assert [u.rsplit("::", 1)[1] for u in r.repair.replace] == ["haproxy-version", "haproxy-config"]
    assert r.repair.text.startswith("pulumi up --stack prod --replace 'urn:pulumi:prod::elma365-cluster::")


def test_without_an_admin_socket_the_stats_page_gives_haproxys_own_view_and_an_unread_password_skips_it():
    # on a shared host the `global` section is the host's: no admin socket of the program's
    stats = {"bind": "127.0.0.1:8404", "user": "admin", "password": "S3cret-stats"}
    site = site_of(haproxy={**example()["haproxy"], "stats": stats, "shared": True})
    hosts = healthy(site)
    hosts[hf.HAPROXY].sections["stats"] = S(STATS)
    rows = compare(site, hosts, CTX)
    assert drifts(rows) == [("haproxy 192.168.1.50", "backend elma365-3 state (stats page)")]
    unread = repairs.Context(stack="prod", unread_secrets=frozenset({"haproxy.stats.password"}))
    del hosts[hf.HAPROXY].sections["stats"]
    live = hosts[hf.HAPROXY].sections["config"]
    hosts[hf.HAPROXY].sections["config"] = S(live.out.replace("S3cret-stats", "the-live-one"))
    rows = compare(site, hosts, unread)
    assert drifts(rows) == []
    assert row(rows, "haproxy 192.168.1.50", "backend state").status == checks.SKIP
    assert "stats password not compared" in row(rows, "haproxy 192.168.1.50", "live").found


def test_the_admin_socket_of_the_programs_config_gives_haproxys_own_view():
    sections = {name: command for name, command, _ in hf.haproxy_sections(SITE, with_stats=False)}
    assert "show stat" in sections["backend-state"] and "/run/haproxy/admin.sock" in sections["backend-state"]
    hosts = healthy()
    hosts[hf.HAPROXY].sections["backend-state"] = S(STATS)
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("haproxy 192.168.1.50", "backend elma365-3 state (admin socket)")]
    assert row(rows, "haproxy 192.168.1.50", "backend elma365-1 state").found == "UP"
    hosts[hf.HAPROXY].sections["backend-state"] = S("no admin socket at /run/haproxy/admin.sock", 3)
    r = row(compare(SITE, hosts, CTX), "haproxy 192.168.1.50", "backend state")
    assert r.status == checks.DRIFT and r.repair.text == "ssh root@192.168.1.50 systemctl " + SITE.haproxy.reload_command.split("systemctl ")[1]
    hosts[hf.HAPROXY].sections["backend-state"] = S("neither socat nor python3 is installed on the HAProxy host", 127)
    assert row(compare(SITE, hosts, CTX), "haproxy 192.168.1.50", "backend state").status == checks.SKIP


def test_show_stat_reads_the_admin_socket_without_socat(tmp_path):
    import socket
    import threading
    path = str(tmp_path / "admin.sock")
    server = socket.socket(socket.AF_UNIX)
    server.bind(path)
    server.listen(1)
    asked = []

    def answer():
        conn, _ = server.accept()
        asked.append(conn.recv(100))
        conn.sendall(STATS.encode())
        conn.close()
    threading.Thread(target=answer, daemon=True).start()
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "python3").symlink_to(os.path.realpath(sys.executable))   # and no socat
    done = subprocess.run(["/bin/bash", "-c", "T=; " + hf.show_stat_command(path)], capture_output=True, text=True,
                          timeout=30, env={"PATH": str(bin_dir)})
    server.close()
    assert done.returncode == 0, done.stderr
    assert asked == [b"show stat\n"]
    assert hf.parse_stats_csv(done.stdout) == {"elma365-1": "UP", "elma365-2": "UP", "elma365-3": "DOWN"}


def test_on_a_shared_haproxy_host_the_programs_own_file_is_compared():
    site = site_of(haproxy={**example()["haproxy"], "shared": True})
    commands = {name: command for name, command, _ in hf.haproxy_sections(site, with_stats=False)}
    assert commands["config"] == "cat -- /etc/haproxy/conf.d/elma365-cluster.cfg"
    assert "backend-state" not in commands   # the host's `global`, not the program's: no socket of ours
    rows = compare(site, healthy(site), CTX)
    assert drifts(rows) == []
    assert row(rows, "haproxy 192.168.1.50", "live /etc/haproxy/conf.d/elma365-cluster.cfg = applied").found == "identical"
    unseen = row(rows, "haproxy 192.168.1.50", "backend state")
    assert unseen.status == checks.SKIP and "has no admin socket and no stats page" in unseen.found
    assert "0 drift, 1 skipped (not verified: haproxy 192.168.1.50 backend state (HAProxy's view))" in printed.report(rows)


def test_a_node_that_left_by_hand_is_removed_on_the_main_node_and_joined_again():
    hosts = healthy()
    hosts["elma365-3"].sections["status"] = S(STATUS.replace(
        "192.168.1.51:19001 192.168.1.52:19001 192.168.1.53:19001", "127.0.0.1:19001").replace("yes", "no"))
    main = hosts["elma365-1"].sections
    main["nodes"] = S(NODES.replace("elma365-3    Ready   ", "elma365-3    NotReady"))
    main["status"] = S(STATUS.replace(" 192.168.1.53:19001", "").replace("high-availability: yes", "high-availability: no"))
    main["elma365ctl"] = S(CTL.replace(", elma365-3(up)", "").replace("elma365-2, elma365-3", "elma365-2"))
    hosts[hf.HAPROXY].sections["health-elma365-3"] = S("http_code=000\ncurl: (7) Failed to connect", 7)
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-3", "in the cluster and Ready"), ("cluster", "datastore voters (microk8s status)"),
                            ("cluster", "MicroK8s high-availability"), ("cluster", "ELMA365 nodes up (elma365ctl status)"),
                            ("cluster", "HA mode rolled out on (elma365ctl status)"),
                            ("haproxy 192.168.1.50", "backend elma365-3 health: HEAD / :80")]
    [fix] = {r.repair for r in rows if r.status == checks.DRIFT}
    assert fix.ssh == (("elma365-1", ("microk8s remove-node elma365-3",
                                      "truncate -s 0 /var/lib/elma365-cluster/applied/restart")),)
    assert [u.rsplit("::", 1)[1] for u in fix.replace] == ["elma365-3-add-node", "elma365-3-update-hamode", "restart"]
    assert fix.text.startswith("ssh root@192.168.1.51 'microk8s remove-node elma365-3 && truncate -s 0 ")
    # removed on the main node as well (or never joined): no remove-node
    main["nodes"] = S("\n".join(NODES.splitlines()[:3]))
    rows = compare(SITE, hosts, CTX)
    r = row(rows, "elma365-3", "in the cluster")
    assert r.found == "not in the cluster (kubectl get nodes)"
    assert r.repair.ssh == (("elma365-1", ("truncate -s 0 /var/lib/elma365-cluster/applied/restart",)),)


def test_a_node_beyond_the_config_is_named():
    hosts = healthy()
    hosts["elma365-1"].sections["nodes"] = S(NODES + "\nelma365-9    Ready    <none>   1h    v1.28.15")
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("cluster", "no node beyond the config")]
    assert row(rows, "cluster", "no node beyond").repair.manual


# ---------------------------------------------------------------- reading the config

STACK_FILE = """encryptionsalt: v1:abc
config:
  elma365:ssh:
    user: root
    port: 2222
    privateKey:
      secure: v1:AAAA
  elma365:nodes:
    - name: elma365-1
      address: 10.0.0.11
    - name: elma365-2
      address: 10.0.0.12
    - name: elma365-3
      address: 10.0.0.13
  elma365:install:
    externalServices:
      postgresql:
        secure: v1:BBBB
  elma365:haproxy:
    host: 10.0.0.10
    stats:
      bind: 127.0.0.1:8404
      user: admin
      password:
        secure: v1:CCCC
"""


def test_the_key_file_form_reads_the_plain_values_and_marks_the_secrets_unread(tmp_path):
    stack = tmp_path / "Pulumi.prod.yaml"
    stack.write_text(STACK_FILE)
    key = tmp_path / "key"
    key.write_text(TEST_KEY)
    values, secret, unread = cli.values_from_stack_file(stack, key)
    assert unread == {"install.externalServices.postgresql", "haproxy.stats.password"}
    assert secret == {"ssh", "install", "haproxy"}
    assert values["ssh"]["privateKey"] == TEST_KEY
    site = parse_site(values, secret)
    assert sorted(site.install.external_services) == ["postgresql"]   # its name, for the comparison
    assert str(site.haproxy.stats.password) == cli.PLACEHOLDERS["haproxy.stats.password"]
    assert cli.stack_name_of(stack) == "prod"


def test_the_pulumi_form_reads_pulumi_config_show_secrets_json(monkeypatch):
    shown = {"elma365:ssh": {"value": "{}", "objectValue": {"privateKey": TEST_KEY, "port": 22}, "secret": True},
             "elma365:nodes": {"value": json.dumps([{"name": "a", "address": "10.0.0.1"}]), "secret": False},
             "aws:region": {"value": "x", "secret": False}}
    calls = []

    def run(argv, **kwargs):
        calls.append((argv, kwargs["cwd"]))
        return subprocess.CompletedProcess(argv, 0, json.dumps(shown), "")
    monkeypatch.setattr(cli.subprocess, "run", run)
    values, secret = cli.values_from_pulumi("prod", Path("/site"))
    assert calls == [(["pulumi", "config", "--show-secrets", "--json", "--stack", "prod"], Path("/site"))]
    assert values == {"ssh": {"privateKey": TEST_KEY, "port": 22}, "nodes": [{"name": "a", "address": "10.0.0.1"}]}
    assert secret == {"ssh"}


def test_a_bad_config_exits_2_and_checks_nothing(tmp_path, capsys):
    values = example()
    del values["nodes"]
    path = tmp_path / "values.json"
    path.write_text(json.dumps(values))
    assert cli.main(["--values-json", str(path)]) == 2
    assert "nothing was checked" in capsys.readouterr().err


@pytest.mark.parametrize("args, expected", [
    ("STACK=prod", "-m components.verify --pulumi-stack prod"),
    ("STACK=prod KEY=/k/id", "-m components.verify --stack stacks/Pulumi.prod.yaml --key /k/id"),
])
def test_make_verify_runs_the_module_with_the_stack(args, expected):
    done = subprocess.run(["make", "-n", "-C", str(ROOT), "verify", *args.split()], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stdout.splitlines() if "components.verify" in line][-1].endswith(expected)


def test_make_verify_without_a_stack_says_how_to_call_it():
    done = subprocess.run(["make", "-s", "-C", str(ROOT), "verify"], capture_output=True, text=True)
    assert done.returncode != 0 and "make verify STACK=<name>" in done.stdout + done.stderr


def test_every_host_is_read_at_once(monkeypatch):
    """All sessions are open together: each fake session waits until every other one has started,
    which a one-after-another reading could never get past."""
    import threading

    from components.site import parse_site
    from tests.sites import SECRET_KEYS, example

    site = parse_site(example(), SECRET_KEYS)
    hosts = len(site.active) + 1  # and the HAProxy host
    everyone_started = threading.Barrier(hosts, timeout=20)

    def session(self, argv, command, stdin, timeout):
        everyone_started.wait()  # raises BrokenBarrierError if the sessions ran one at a time
        return collect.HostOutput(True, {})

    monkeypatch.setattr(collect.Ssh, "run", session)
    assert sorted(collect.collect(site, "/dev/null")) == sorted([*[n.name for n in site.active], collect.HAPROXY])


def test_a_node_whose_refreshes_are_no_longer_held_drifts_with_the_hold_as_repair():
    hosts = healthy()
    hosts["elma365-2"].sections["snap"] = S(SNAP.replace("classic,held", "classic"))   # `snap refresh --unhold`
    rows = compare(SITE, hosts, CTX)
    assert drifts(rows) == [("elma365-2", "MicroK8s refreshes held (snap list)")]
    held = [(r.where, r.found) for r in rows if r.check == "MicroK8s refreshes held (snap list)"]
    assert held == [("elma365-1", "held"), ("elma365-2", "not held"), ("elma365-3", "held")]
    assert row(rows, "elma365-2", "MicroK8s refreshes held").repair.text == \
        "ssh root@192.168.1.52 snap refresh --hold microk8s"
    # the revision and the channel each node runs are in its version row
    assert row(rows, "elma365-2", "MicroK8s version").found == "v1.28.15 (rev 7449, 1.28/stable)"
