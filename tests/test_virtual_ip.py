"""Two balancers, one virtual IP: the operator's checklist for haproxy.hosts + haproxy.virtualIp."""
from __future__ import annotations

import shlex
import subprocess

import pytest

from components import names
from components.render.keepalived import haproxy_check_script, keepalived_config
from components.site import SiteConfigError, parse_site
from tests.test_day2_program import deployed
from tests.sites import SECRET_KEYS, example

A, B, C, VIP = "192.168.1.61", "192.168.1.62", "192.168.1.63", "192.168.1.60"


def two_balancers(*hosts: str, vip: str | None = VIP, **keepalived) -> dict:
    values = example()
    h = values["haproxy"]
    for key in ("host", "port", "user", "hostKey"):
        h.pop(key, None)
    h["hosts"] = [{"host": x, "hostKey": f"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI{i}" + "A" * 42}
                  for i, x in enumerate(hosts or (A, B))]
    h["bind"] = "*:80"
    if vip:
        h["virtualIp"] = vip
        h["keepalived"] = {"interface": "eth0", **keepalived}
    return values


def balancer_step(what: str, host: str) -> str:
    """A's steps keep the names the one balancer of a site has; every other balancer's carry its host."""
    return names.balancer(what, host, first=host == A)


def problems(values) -> str:
    with pytest.raises(SiteConfigError) as error:
        parse_site(values, SECRET_KEYS)
    return str(error.value)


def test_two_balancers_need_a_virtual_ip_and_its_interface():
    assert "haproxy.virtualIp = (missing): is required with 2 haproxy.hosts" in problems(two_balancers(vip=None))
    values = two_balancers()
    del values["haproxy"]["keepalived"]
    assert "haproxy.keepalived.interface = (missing): is required with haproxy.virtualIp" in problems(values)


def test_a_virtual_ip_needs_two_balancers_an_address_of_its_own_and_a_wildcard_bind():
    assert "needs at least two haproxy.hosts" in problems(two_balancers(A))
    assert "must be an address of its own" in problems(two_balancers(vip=A))
    assert "must be an address of its own" in problems(two_balancers(vip="192.168.1.51"))
    values = two_balancers()
    values["haproxy"]["bind"] = f"{VIP}:80"
    assert "haproxy.bind = \"192.168.1.60:80\": must be *:<port> with a virtual IP" in problems(values)
    assert "must be an IPv4/IPv6 address, optionally with a prefix" in problems(two_balancers(vip="10.0.0.1/33"))


def test_host_and_hosts_are_not_both_given_and_no_balancer_twice():
    values = two_balancers()
    values["haproxy"]["host"] = A
    assert "give haproxy.host (with port, user, hostKey) or haproxy.hosts, not both" in problems(values)
    assert "haproxy.hosts[1].host = \"192.168.1.61\": is listed twice" in problems(two_balancers(A, A))
    assert "must be a list of 1 to 5 balancers" in problems(two_balancers(*[f"10.0.0.{i}" for i in range(1, 7)]))


def test_keepalived_settings_are_checked():
    message = problems(two_balancers(interface="eth 0", virtualRouterId=256, advertInterval=0, preempt="yes",
                                     configPath="keepalived.conf", reloadCommand="a\nb", priority=1))
    for expected in ("keepalived.interface = \"eth 0\"", "virtualRouterId = 256", "advertInterval = 0",
                     "keepalived.preempt", "keepalived.configPath", "keepalived.reloadCommand",
                     "keepalived.priority = 1: unknown key"):
        assert expected in message


def test_each_balancer_gets_the_same_instance_with_its_own_priority():
    haproxy = parse_site(two_balancers(), SECRET_KEYS).haproxy
    first, second = keepalived_config(haproxy, 0), keepalived_config(haproxy, 1)
    assert "priority 150" in first and "priority 125" in second
    assert first.replace("priority 150", "").replace("balancer 1", "") == \
        second.replace("priority 125", "").replace("balancer 2", "")
    assert "state BACKUP" in first and "nopreempt" in first and "vrrp_version 3" in first
    assert f"{VIP}/32 dev eth0" in first and "advert_int 0.5" in first
    assert "nopreempt" not in keepalived_config(parse_site(two_balancers(preempt=True), SECRET_KEYS).haproxy, 0)
    assert "exec 3<>\"/dev/tcp/127.0.0.1/$port\"" in haproxy_check_script(haproxy) and "port=80" in haproxy_check_script(haproxy)


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v keepalived && [ $(id -u) = 0 ]"],
                                   capture_output=True).returncode != 0, reason="needs keepalived and root")
def test_keepalived_accepts_the_rendered_config(tmp_path):
    haproxy = parse_site(two_balancers(), SECRET_KEYS).haproxy
    conf = tmp_path / "keepalived.conf"
    conf.write_text(keepalived_config(haproxy, 1).replace("/etc/keepalived/elma365-cluster-check-haproxy",
                                                          str(tmp_path / "check")))
    (tmp_path / "check").write_text(haproxy_check_script(haproxy))
    (tmp_path / "check").chmod(0o755)
    test = "ip link add eth0 type veth peer name eth1 && ip link set eth0 up && keepalived -t -f \"$1\""
    ok = subprocess.run(["unshare", "--net", "sh", "-c", test, "t", str(conf)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    conf.write_text(conf.read_text().replace("advert_int", "advert_intt"))
    bad = subprocess.run(["unshare", "--net", "sh", "-c", test, "t", str(conf)], capture_output=True, text=True)
    assert bad.returncode != 0 and "advert_intt" in bad.stdout + bad.stderr


def test_balancers_are_changed_one_after_the_other_and_the_url_is_the_virtual_ip():
    run = deployed(two_balancers())
    for host in (A, B):
        for what in ("version", "config", "keepalived"):
            assert run.command(balancer_step(what, host)).inputs["connection"]["host"] == host
        assert run.depends(balancer_step("keepalived", host), on=balancer_step("config", host))
    assert run.depends(balancer_step("config", B), on=balancer_step("keepalived", A))
    # the same HAProxy config on both
    assert run.command(balancer_step("config", A)).inputs["stdin"] == run.command(balancer_step("config", B)).inputs["stdin"]
    assert "priority 125" in run.command(balancer_step("keepalived", B)).inputs["create"]
    assert run.exports["haproxyUrl"] == f"http://{VIP}/"


def test_a_single_balancer_keeps_its_step_names():
    names_ = {c.name for c in deployed(example()).commands}
    assert {"haproxy-version", "haproxy-config"} <= names_ and not any("keepalived" in n for n in names_)


def test_a_second_balancer_leaves_the_first_ones_steps_as_they_are():
    one = example()
    one["haproxy"]["host"] = A
    before, after = deployed(one), deployed(two_balancers(A, B), one)
    for what in ("version", "config"):
        assert before.command(f"haproxy-{what}").urn == after.command(f"haproxy-{what}").urn
        assert after.command(f"haproxy-{what}").inputs["connection"]["host"] == A
        # a site deployed when every balancer's steps carried its host finds A's under the old name
        assert after.command(f"haproxy-{what}").options["aliases"], "no alias to the name A's steps had"
    assert f"haproxy-config-{B}" in after.names


def test_the_first_balancer_gone_no_other_balancers_steps_move():
    run = deployed(two_balancers(B, C), two_balancers(A, B))
    assert {f"haproxy-config-{B}", f"haproxy-config-{C}"} <= set(run.names) and "haproxy-config" not in run.names


def test_a_balancer_taken_out_gives_up_the_virtual_ip_then_haproxy():
    run = deployed(two_balancers(A, C), two_balancers(A, B))
    mine = [c for c in run.commands if c.inputs["connection"]["host"] == B]
    assert [c.name for c in mine] == ["keepalived-removal", "haproxy-removal"]
    assert run.depends("haproxy-removal", on="keepalived-removal")
    assert run.reaches("keepalived-removal", on=balancer_step("keepalived", C))  # the others serve first
    assert unique_urns(run)
    for step in mine:
        assert "create" in step.options["ignoreChanges"]


def test_switching_the_virtual_ip_off_takes_keepalived_off_every_balancer():
    values = example()
    values["haproxy"]["host"] = A
    run = deployed(values, two_balancers(A, B))
    removals = sorted((c.inputs["connection"]["host"], c.name) for c in run.commands if "removal" in c.name)
    assert removals == [(A, "keepalived-removal"), (B, f"haproxy-removal-{B}"), (B, f"keepalived-removal-{B}")]
    assert unique_urns(run)


def unique_urns(run) -> bool:
    """Pulumi refuses a second resource with the same URN (the parent's type chain, not its name,
    is in a URN: two components of one type may not have same-named steps)."""
    urns = [c.urn for c in run.commands]
    return len(urns) == len(set(urns))


@pytest.mark.skipif(subprocess.run(["sh", "-c", "command -v shellcheck"], capture_output=True).returncode != 0,
                    reason="needs shellcheck (make test installs it)")
def test_the_rendered_keepalived_scripts_are_shellcheck_clean():
    from components.record import RecordedKeepalived
    from components.render import keepalived
    site = parse_site(two_balancers(), SECRET_KEYS)
    old = RecordedKeepalived("/etc/keepalived/keepalived.conf", "systemctl reload keepalived")
    sudo = site.ssh.needs_sudo
    for command in (keepalived.apply_command(site.haproxy, 1, sudo=sudo), keepalived.removal_command(old, sudo=sudo),
                    haproxy_check_script(site.haproxy)):
        script = shlex.split(command)[-1] if command.startswith("bash -c") else command
        out = subprocess.run(["shellcheck", "-s", "bash", "-S", "warning", "-"], input=script, capture_output=True,
                             text=True)
        assert out.returncode == 0, out.stdout


def test_make_hostkeys_pins_each_balancer_and_says_how_to_pin_a_plain_address(monkeypatch):
    import importlib.util
    import sys
    from tests.mock_runtime import ROOT_DIR
    spec = importlib.util.spec_from_file_location("hostkeys", ROOT_DIR / "tools" / "hostkeys.py")
    hostkeys = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "hostkeys", hostkeys)  # its dataclasses look their module up
    spec.loader.exec_module(hostkeys)
    values = two_balancers()
    values["haproxy"]["hosts"][1]["port"] = 2222
    found = [(s.name, s.address, s.port, s.config_path) for s in hostkeys.servers_of(values) if s.role == "haproxy"]
    assert found == [("haproxy-1", A, 22, "haproxy.hosts[0].hostKey"), ("haproxy-2", B, 2222, "haproxy.hosts[1].hostKey")]
    values["haproxy"]["hosts"][1] = B
    with pytest.raises(SystemExit, match=r"haproxy.hosts\[1\] is a plain address .*Write it as \{host: 192.168.1.62\}"):
        hostkeys.servers_of(values)


# ---------------------------------------------------------------- make verify with two balancers

def verified(mutate=lambda hosts: None):
    import hashlib

    from components.facts import haproxy as hf
    from components.facts.sections import HostOutput, Section
    from components.verify import repairs
    from tests.test_verify import compare, healthy
    site = parse_site(two_balancers(), SECRET_KEYS | {"haproxy"})
    hosts = healthy(site)
    one = hosts.pop(hf.HAPROXY)
    for key, index, _ in hf.balancers(site):
        config = keepalived_config(site.haproxy, index)
        sections = {**one.sections, "keepalived-config": Section(0, config.rstrip("\n")),
                    "keepalived-sha256": Section(0, hashlib.sha256(config.encode()).hexdigest() + "  -"),
                    "vip": Section(0, f"2: eth0    inet {VIP}/32 scope global eth0" if index == 0 else "")}
        hosts[key] = HostOutput(True, sections)
    mutate(hosts)
    return compare(site, hosts, repairs.Context(stack="prod"))


def test_make_verify_reads_every_balancer_and_who_holds_the_virtual_ip():
    from components.verify import checks
    rows = verified()
    assert [(r.where, r.check) for r in rows if r.status == checks.DRIFT] == []
    for host in (A, B):
        assert any(r.where == f"haproxy {host}" and r.check.startswith("live /etc/keepalived/keepalived.conf")
                   and r.status == checks.OK for r in rows)
    vip = next(r for r in rows if r.check == f"virtual IP {VIP}")
    assert (vip.where, vip.found, vip.status) == ("cluster", f"held by {A}", checks.OK)


def test_make_verify_names_a_drifted_keepalived_config_and_a_split_brain():
    from components.facts import haproxy as hf
    from components.facts.sections import Section
    from components.verify import checks

    def edit(hosts):
        live = hosts[f"{hf.HAPROXY}:{B}"].sections
        live["keepalived-config"] = Section(0, live["keepalived-config"].out.replace("priority 125", "priority 200"))
        live["keepalived-sha256"] = Section(0, "0" * 64 + "  -")
        live["vip"] = Section(0, f"2: eth0    inet {VIP}/32 scope global eth0")
    rows = verified(edit)
    split, drifted = [r for r in rows if r.status == checks.DRIFT]
    assert [(r.where, r.check.split(" =")[0]) for r in (split, drifted)] == [
        ("cluster", f"virtual IP {VIP}"), (f"haproxy {B}", "live /etc/keepalived/keepalived.conf")]
    assert "priority 200" in drifted.found
    assert f"--replace 'urn:pulumi:prod::elma365-cluster::elma365:cluster:Elma365Cluster$elma365:cluster:" \
           f"HaproxyLoadBalancer$command:remote:Command::{balancer_step('keepalived', B)}'" in drifted.repair.text
    assert split.found == f"held by {A}, {B}"
