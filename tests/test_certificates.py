"""Each node's MicroK8s certificates (docs/certificates.md), the operator's checklist without a lab:
their facts read for real by bash and openssl on certificate files made here, what is due for
renewal and when a renewal runs, the preflight's warning, the renewal's steps in the program."""
from __future__ import annotations

import dataclasses
import datetime as dt
import shlex
import socket
import subprocess
from pathlib import Path

import pytest

from components.facts import certificates as certs
from components.facts.node import parse_facts
from components.render.certificates import CertificateCheck, check_command, preflight_check
from components.record import Record, RecordedCertificates
from components.render.refresh import RolloutNode
from components.site import SiteConfigError, parse_site
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example

NOW = dt.datetime(2026, 12, 5, 12, 0, tzinfo=dt.timezone.utc)
ADDRESS = "192.168.1.52"
CSR = """[ req ]
prompt = no
distinguished_name = dn
req_extensions = req_ext
[ dn ]
CN = 127.0.0.1
[ req_ext ]
subjectAltName = @alt_names
[ alt_names ]
DNS.1 = kubernetes
IP.1 = 127.0.0.1
IP.2 = 10.152.183.1
IP.3 = {address}
[ v3_ext ]
basicConstraints=CA:FALSE
subjectAltName=@alt_names
"""


def openssl(*args: str, cwd: Path) -> None:
    subprocess.run(["openssl", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def certs_dir(tmp_path_factory) -> Path:
    """A node's MicroK8s certificates as produce_certs makes them: a CA for 3650 days, server.crt
    20 days from its end naming ADDRESS, a front-proxy-client.crt that ended a day ago."""
    d = tmp_path_factory.mktemp("certs")
    (d / "csr.conf").write_text(CSR.format(address=ADDRESS))
    openssl("req", "-x509", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", "ca.key", "-subj", "/CN=10.152.183.1",
            "-days", "3650", "-out", "ca.crt", cwd=d)
    for cert, days in (("server", "20"), ("front-proxy-client", "-1")):
        openssl("req", "-new", "-nodes", "-newkey", "rsa:2048", "-keyout", f"{cert}.key", "-config", "csr.conf",
                "-out", f"{cert}.csr", cwd=d)
        openssl("x509", "-req", "-in", f"{cert}.csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                "-days", days, "-extensions", "v3_ext", "-extfile", "csr.conf", "-out", f"{cert}.crt", cwd=d)
    return d


def run_here(script: str, certs_dir: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    """A rendered script run by bash here, on `certs_dir` instead of MicroK8s' folder."""
    body = shlex.split(script)[-1] if script.startswith(("bash -c", "sudo -n bash -c")) else script
    return subprocess.run(["bash", "-c", "set -euo pipefail\n" + body.replace(certs.CERTS_DIR, str(certs_dir))],
                          capture_output=True, text=True, env=env, timeout=60)


def node_facts(certs_dir: Path, address: str = ADDRESS) -> dict[str, str]:
    done = run_here('fact() { echo "FACT n2 $*"; }\n' + certs.facts_script(address), certs_dir)
    assert done.returncode == 0, done.stderr
    return parse_facts(done.stdout)["n2"]


# ---------------------------------------------------------------- facts

def test_every_node_reports_days_left_on_each_certificate_and_whether_server_crt_names_its_address(certs_dir):
    facts = node_facts(certs_dir)
    days = {name: facts[name].split()[0] for name in ("certca", "certserver", "certproxy")}
    # whole days, rounded down: one less once the second it was signed has passed
    assert days["certca"] in ("3649", "3650") and days["certserver"] in ("19", "20") and days["certproxy"] == "-1"
    assert "IP:192.168.1.52" in facts["certsans"].split(",") and "DNS:kubernetes" in facts["certsans"].split(",")
    assert facts["certaddress"] == "yes"
    assert node_facts(certs_dir, "192.168.1.99")["certaddress"] == "no"
    read = certs.parse_node(facts)
    assert read.has_address(ADDRESS) and not read.has_address("192.168.1.99")
    assert read.certificates["front-proxy-client.crt"].days == -1


def test_a_node_without_microk8s_reports_its_certificates_absent(tmp_path):
    facts = node_facts(tmp_path)
    assert [facts[n] for n in ("certca", "certserver", "certproxy", "certsans", "certaddress")] == ["absent"] * 5
    assert certs.parse_node(facts).certificates["ca.crt"].state == "absent"


# ---------------------------------------------------------------- what is due, and when a renewal runs

def ending(**days: float) -> RecordedCertificates:
    """A recorded read, as the record reads it back: each certificate's end `days` from NOW."""
    return RecordedCertificates.from_dict({"read": "2026-12-01T00:00:00Z", **{
        f"{k.replace('_', '-')}.crt": (NOW + dt.timedelta(days=v)).strftime("%Y-%m-%dT%H:%M:%SZ") for k, v in days.items()}})


def test_due_are_the_server_and_front_proxy_certificates_ending_within_the_window_or_ended():
    read = certs.from_record(ending(ca=30, server=59, front_proxy_client=-3))
    assert certs.due(read, NOW, 60) == ["server.crt", "front-proxy-client.crt"]   # never the CA
    assert certs.due(certs.from_record(ending(ca=300, server=61, front_proxy_client=300)), NOW, 60) == []
    assert certs.due(read, NOW, 0) == []   # renewal off


def test_a_renewal_token_changes_when_a_certificate_comes_due_and_stays_once_it_is_renewed():
    nodes = ["n2", "n3", "n1"]
    far = {n: ending(ca=3000, server=300, front_proxy_client=300) for n in nodes}
    assert certs.renewal_tokens(far, nodes, NOW, 60) == {"n2": "", "n3": "", "n1": ""}
    assert certs.renewal_tokens(None, nodes, NOW, 60) == {"n2": "", "n3": "", "n1": ""}   # a new stack
    due = dict(far, n3=ending(ca=3000, server=20, front_proxy_client=300))
    tokens = certs.renewal_tokens(due, nodes, NOW, 60)
    assert tokens["n2"] == tokens["n1"] == "" and tokens["n3"].startswith("server.crt@2026-12-25")
    # renewed: 365 days again, the token it had stays, so nothing runs again
    renewed = dict(far, n3=dataclasses.replace(ending(ca=3000, server=365, front_proxy_client=300), renewal=tokens["n3"]))
    assert certs.renewal_tokens(renewed, nodes, NOW, 60)["n3"] == tokens["n3"]
    # a year on, due again: a new token
    later = NOW + dt.timedelta(days=320)
    assert certs.renewal_tokens(renewed, nodes, later, 60)["n3"] not in ("", tokens["n3"])


def test_the_record_keeps_each_nodes_latest_read_whatever_order_the_outputs_come_in():
    old = {"n1": RecordedCertificates("2026-12-01T00:00:00Z", {"server.crt": "2026-12-20T00:00:00Z"})}
    new = {"n1": RecordedCertificates("2026-12-05T00:00:00Z", {"server.crt": "2027-12-05T00:00:00Z"})}
    assert certs.latest(old, new)["n1"].ends["server.crt"] == certs.latest(new, old)["n1"].ends["server.crt"] == "2027-12-05T00:00:00Z"


# ---------------------------------------------------------------- the preflight's warnings

def preflight_says(facts: str, days: int = 60) -> tuple[str, str]:
    script = "\n".join(["report() { echo \"$1 $2 $3\"; }", f"facts={shlex.quote(facts)}",
                        preflight_check("n2", CertificateCheck(ADDRESS, days))])
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    _, status, detail = done.stdout.strip().split(" ", 2)
    return status, detail


def test_the_preflight_warns_of_a_ca_within_the_window_and_of_an_address_server_crt_lacks():
    lines = "FACT n2 certca {ca} x\nFACT n2 certserver 300 x\nFACT n2 certproxy 300 x\nFACT n2 certaddress {named}"
    assert preflight_says(lines.format(ca=3000, named="yes")) == (
        "ok", "days left: ca.crt 3000, server.crt 300, front-proxy-client.crt 300")
    status, detail = preflight_says(lines.format(ca=45, named="yes"))
    assert status == "warn" and "the CA ends within 60 days and pulumi up never renews it" in detail
    status, detail = preflight_says(lines.format(ca=3000, named="no"))
    assert status == "warn" and "server.crt does not name 192.168.1.52" in detail and "not repaired" in detail
    assert preflight_says("FACT n2 certca absent") == ("ok", "no MicroK8s certificates here yet")


# ---------------------------------------------------------------- the renewal's check, run here

FAKE_MICROK8S = """#!/bin/bash
echo "microk8s $*" >> "$CALLS"
case "$1 $2 $3" in
  "kubectl get nodes") printf 'n1 Ready <none> 1d v1.28.15\\nn2 Ready <none> 1d v1.28.15\\nn3 %s <none> 1d v1.28.15\\n' "${N3:-Ready}" ;;
  *) echo "microk8s is running"; echo "  datastore master nodes: $VOTERS" ;;
esac
"""


def check_here(certs_dir: Path, tmp_path: Path, days: int, **env: str) -> tuple[subprocess.CompletedProcess, str]:
    (tmp_path / "microk8s").write_text(FAKE_MICROK8S)
    (tmp_path / "microk8s").chmod(0o755)
    calls = tmp_path / "calls"
    calls.write_text("")
    command = check_command(RolloutNode("n2", f"{ADDRESS}:19001"), days, want_voters=3, sudo=False)
    with socket.socket() as n1, socket.socket() as n3:   # the other voters' datastore ports: they answer
        for voter in (n1, n3):
            voter.bind(("127.0.0.1", 0))
            voter.listen()
        voters = f"127.0.0.1:{n1.getsockname()[1]} {ADDRESS}:19001 127.0.0.1:{n3.getsockname()[1]}"
        done = run_here(command, certs_dir, env={"PATH": f"{tmp_path}:/usr/bin:/bin", "CALLS": str(calls),
                                                 "VOTERS": voters, **env})
    return done, calls.read_text()


def test_the_check_of_a_node_with_nothing_due_says_current_and_asks_the_cluster_nothing(certs_dir, tmp_path):
    (tmp_path / "c").mkdir()
    for name in ("ca.crt", "server.crt"):
        (tmp_path / "c" / name).write_bytes((certs_dir / name).read_bytes())
    (tmp_path / "c" / "front-proxy-client.crt").write_bytes((certs_dir / "server.crt").read_bytes())
    done, calls = check_here(tmp_path / "c", tmp_path, 10)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("current: n2 no certificate ends within 10 days") and calls == ""
    assert "FACT n2 certserver" in done.stdout


def test_the_check_of_a_due_node_passes_the_gate_and_says_renew(certs_dir, tmp_path):
    done, calls = check_here(certs_dir, tmp_path, 60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("renew: n2 server.crt front-proxy-client.crt end within 60 days")
    assert "microk8s kubectl get nodes --no-headers" in calls


def test_the_check_of_a_due_node_is_refused_while_another_node_is_down(certs_dir, tmp_path):
    done, _ = check_here(certs_dir, tmp_path, 60, N3="NotReady")
    assert done.returncode == 1 and not done.stdout.startswith("renew:")
    assert "n3 NotReady: no node's certificates are renewed while another node is down" in done.stderr


# ---------------------------------------------------------------- the config key and the program

def test_renew_days_before_defaults_to_60_and_must_be_a_whole_number_of_days_up_to_300():
    assert parse_site(example(), SECRET_KEYS).install.certificates.renew_days_before == 60
    values = example()
    values["install"]["certificates"] = {"renewDaysBefore": 0}
    assert parse_site(values, SECRET_KEYS).install.certificates.renew_days_before == 0
    for bad in (-1, 301, "60", 1.5):
        values["install"]["certificates"] = {"renewDaysBefore": bad}
        with pytest.raises(SiteConfigError, match=r"install.certificates.renewDaysBefore"):
            parse_site(values, SECRET_KEYS)
    values["install"]["certificates"] = 0
    with pytest.raises(SiteConfigError, match=r"install.certificates = 0: must be an object"):
        parse_site(values, SECRET_KEYS)
    values["install"]["certificates"] = {"renewDays": 3}
    with pytest.raises(SiteConfigError, match=r"install.certificates.renewDays\b"):
        parse_site(values, SECRET_KEYS)


def deployed_after(ends: dict[str, dict], **install):
    values = example()
    values["install"].update(install)
    previous = Record.of(parse_site(values, SECRET_KEYS)).to_dict()
    previous["certificates"] = ends
    mocks = cluster_outputs()
    mocks.previous = {"site": previous}
    return run_program(values, SECRET_KEYS, mocks=mocks)


def certificate_steps(run) -> list[str]:
    return [c.name for c in run.commands if "-certificates-" in c.name]


def test_with_nothing_due_every_node_only_has_its_check():
    now = dt.datetime.now(dt.timezone.utc)
    far = {f"elma365-{i}": {"read": "x", "server.crt": (now + dt.timedelta(days=300)).strftime("%Y-%m-%dT%H:%M:%SZ")}
           for i in (1, 2, 3)}
    run = deployed_after(far)
    assert sorted(certificate_steps(run)) == [f"elma365-{i}-certificates-check" for i in (1, 2, 3)]
    assert all(c.inputs["triggers"] == [""] for c in run.commands if "-certificates-" in c.name)


def test_due_certificates_are_renewed_node_by_node_behind_haproxy_the_main_node_last():
    now = dt.datetime.now(dt.timezone.utc)
    soon = (now + dt.timedelta(days=20)).strftime("%Y-%m-%dT%H:%M:%SZ")
    run = deployed_after({"elma365-1": {"read": "x", "front-proxy-client.crt": soon},
                          "elma365-3": {"read": "x", "server.crt": soon}})
    assert "elma365-2-certificates-renew" not in certificate_steps(run)
    chain = ["elma365-3-certificates-check", "elma365-3-certificates-drain-192.168.1.50", "elma365-3-certificates-renew",
             "elma365-3-certificates-ready-192.168.1.50", "elma365-1-certificates-check",
             "elma365-1-certificates-drain-192.168.1.50", "elma365-1-certificates-renew",
             "elma365-1-certificates-ready-192.168.1.50"]
    for before, after in zip(chain, chain[1:]):
        assert run.reaches(after, on=before), (after, before)
    assert run.reaches("elma365-3-certificates-check", on="elma365-2-certificates-check")
    assert run.reaches("elma365-2-certificates-check", on="restart")   # after the HA roll-out
    renew = run.command("elma365-3-certificates-renew").inputs["create"]
    assert "microk8s refresh-certs -e" in renew and "-checkend 5184000" in renew
    assert run.command("elma365-3-certificates-renew").inputs["triggers"] == [f"server.crt@{soon}"]


def test_renew_days_before_0_turns_renewal_off():
    now = dt.datetime.now(dt.timezone.utc)
    ended = {"elma365-2": {"read": "x", "server.crt": (now - dt.timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")}}
    assert certificate_steps(deployed_after(ended, certificates={"renewDaysBefore": 0})) == []


# ---------------------------------------------------------------- make verify

def verify_rows(lines: str):
    from components.facts.sections import HostOutput, Section
    from components.verify.checks.base import Checks
    from components.verify.checks.certificates import certificates as check
    from components.verify.repairs import Context
    site = parse_site(example(), SECRET_KEYS)
    hosts = {n.name: HostOutput(True, {"certificates": Section(0, lines.replace("NODE", n.name))}) for n in site.active}
    c = Checks(site, hosts, Context(stack="prod"))
    check(c)
    return [r for r in c.rows if r.where == "elma365-2"]


def test_verify_shows_days_left_per_certificate_and_fails_a_due_one_with_pulumi_up_as_its_repair():
    lines = ("FACT - certsread 2026-12-05T00:00:00Z\nFACT - certca 3000 2035-01-01T00:00:00Z\n"
             "FACT - certserver 20 2026-12-25T00:00:00Z\nFACT - certproxy -2 2026-12-03T00:00:00Z\n"
             "FACT - certsans DNS:kubernetes,IP:127.0.0.1,IP:192.168.1.99")
    rows = {r.check: r for r in verify_rows(lines)}
    assert rows["ca.crt days left"].status == "ok" and rows["ca.crt days left"].found.startswith("3000")
    server, proxy = rows["server.crt days left"], rows["front-proxy-client.crt days left"]
    assert server.status == "DRIFT" and server.found.startswith("20 (ends 2026-12-25")
    assert proxy.status == "DRIFT" and proxy.found.startswith("ended 2 day(s) ago")
    assert server.repair.text.startswith("pulumi up --stack prod") and not server.repair.manual
    named = rows["server.crt names the cluster address"]
    assert named.status == "DRIFT" and named.repair.manual and "not repaired" in named.repair.text


def test_verify_fails_a_ca_within_the_window_with_a_repair_only_a_person_makes():
    lines = ("FACT - certsread 2026-12-05T00:00:00Z\nFACT - certca 30 2027-01-04T00:00:00Z\n"
             "FACT - certserver 300 2027-10-01T00:00:00Z\nFACT - certproxy 300 2027-10-01T00:00:00Z\n"
             "FACT - certsans DNS:kubernetes,IP:192.168.1.52")
    rows = {r.check: r for r in verify_rows(lines)}
    ca = rows["ca.crt days left"]
    assert ca.status == "DRIFT" and ca.repair.manual and "never renewed by pulumi up" in ca.repair.text
    assert rows["server.crt days left"].status == rows["server.crt names the cluster address"].status == "ok"


def test_the_record_takes_each_nodes_certificates_from_the_output_read_last():
    from pulumi.runtime.sync_await import _sync_await
    from tests.mock_runtime import Outputs
    from tests.sites import HAPROXY_VERSION, add_node_output

    def lines(node: str, read: str, end: str) -> str:
        return (f"FACT {node} certsread {read}\nFACT {node} certca 3000 2035-01-01T00:00:00Z\n"
                f"FACT {node} certserver 300 {end}\nFACT {node} certproxy 300 {end}\n")

    def stdout(args) -> str:
        if args.name.endswith("-add-node"):
            return add_node_output("192.168.1.51")
        if args.name == "haproxy-version":
            return HAPROXY_VERSION
        if args.name == "elma365-2-preflight":     # read later than elma365-2's check
            return lines("elma365-2", "2026-12-05T10:00:00Z", "2027-10-02T00:00:00Z")
        if args.name == "elma365-2-certificates-check":
            return "current: elma365-2\n" + lines("elma365-2", "2026-12-01T10:00:00Z", "2027-10-01T00:00:00Z")
        if args.name == "elma365-3-certificates-check":   # read later than elma365-3's preflight
            return "current: elma365-3\n" + lines("elma365-3", "2026-12-05T10:00:00Z", "2027-11-01T00:00:00Z")
        if args.name == "elma365-3-preflight":
            return lines("elma365-3", "2026-12-01T10:00:00Z", "2027-01-01T00:00:00Z")
        return ""

    run = run_program(example(), SECRET_KEYS, mocks=Outputs(stdout))
    recorded = _sync_await(run.exports["site"].future())["certificates"]
    assert recorded["elma365-2"]["server.crt"] == "2027-10-02T00:00:00Z"
    assert recorded["elma365-3"]["server.crt"] == "2027-11-01T00:00:00Z"
    assert recorded["elma365-3"]["renewal"] == "" and "elma365-1" not in recorded
