"""The operator's checklist for a `pulumi up` of the example site, read off the registered resources."""
from __future__ import annotations

import re
import shlex
import subprocess

import pytest

from components.render.shell import digest
from tests.mock_runtime import run_program
from tests.sites import PG_PASSWORD, PG_URL, SECRET_KEYS, TEST_KEY, cluster_outputs, example

NODES = ["elma365-1", "elma365-2", "elma365-3"]


@pytest.fixture(scope="module")
def site():
    return run_program(example(), SECRET_KEYS, mocks=cluster_outputs())


def host_of(command) -> str:
    return command.inputs["connection"]["host"]


def test_each_server_gets_exactly_its_commands(site):
    per_host: dict[str, list[str]] = {}
    for c in site.commands:
        per_host.setdefault(host_of(c), []).append(c.name)
    assert {h: sorted(v) for h, v in per_host.items()} == {
        "192.168.1.51": sorted(["elma365-1-install", "elma365-1-microk8s-channel", "elma365-2-add-node",
                                "elma365-3-add-node", "scale-all",
                                "reconfigure", "elma365-1-update-hamode", "restart",
                                "elma365-1-preflight", "elma365-1-kubeconfig", "elma365-1-microk8s-hold"]),
        "192.168.1.52": sorted(["elma365-2-prepare", "elma365-2-join", "elma365-2-update-hamode",
                                "elma365-2-preflight", "elma365-2-microk8s-hold"]),
        "192.168.1.53": sorted(["elma365-3-prepare", "elma365-3-join", "elma365-3-update-hamode",
                                "elma365-3-preflight", "elma365-3-microk8s-hold"]),
        "192.168.1.50": ["haproxy-config", "haproxy-version"],
    }


def test_install_downloads_the_vendor_installer_and_runs_it_with_the_edition(site):
    create = site.command("elma365-1-install").inputs["create"]
    assert "curl -fsSL --retry 3 -o /opt/elma365-cluster/elma365-installer.sh.part " \
           "https://dl.elma365.com/onPremise/master/latest/download" in create
    # in a session of its own (an interrupted `pulumi up` does not kill it), answered by the driver
    assert ('run_detached installer bash -c \'trap "rm -f \\"\\$1\\"" EXIT; expect -f "$1" -- "$2" -e "$3" && ')\
        in shlex.split(create)[-1]
    assert 'installer "$driver" /opt/elma365-cluster/elma365-installer.sh enterprise' in shlex.split(create)[-1]
    # checks before acting: a finished install is not repeated
    assert create.index("/var/lib/elma365-cluster/installed") < create.index("curl ")


def test_joins_are_one_serial_chain_after_the_install(site):
    assert site.depends("elma365-2-add-node", on="elma365-1-install")
    assert site.depends("elma365-2-join", on="elma365-2-add-node")
    assert site.depends("elma365-3-add-node", on="elma365-2-join")
    assert site.depends("elma365-3-join", on="elma365-3-add-node")
    assert not site.reaches("elma365-2-join", on="elma365-3-add-node")


def test_nothing_joins_before_the_install(site):
    for node in NODES[1:]:
        assert site.reaches(f"{node}-join", on="elma365-1-install")
        assert site.reaches(f"{node}-add-node", on="elma365-1-install")


def test_joining_nodes_get_the_main_nodes_microk8s_channel_before_any_join(site):
    channel = site.command("elma365-1-microk8s-channel")
    assert site.depends("elma365-1-microk8s-channel", on="elma365-1-install")
    assert "snap list microk8s" in channel.inputs["create"]
    for node in NODES[1:]:
        # the main node's channel comes first, and with it the install and every check (tests/test_preflight.py)
        assert site.command(f"{node}-prepare").depends_on == {channel.urn}
        assert site.depends(f"{node}-add-node", on="elma365-1-microk8s-channel")
    # the mocks answer "" for the channel; the lab reads a real `snap list`
    assert 'snap install microk8s --classic --channel="$channel"' in site.command("elma365-2-prepare").inputs["create"]


def test_join_runs_the_line_for_the_main_nodes_cluster_address(site):
    join = site.command("elma365-2-join")
    assert join.inputs["stdin"] == "192.168.1.51:25000/92b2db237428470dc4fcfc4ebbd9dc81/2c0cb3284b05"
    assert join.is_secret("stdin")
    assert 'microk8s join "$target"' in join.inputs["create"]


def test_join_picks_the_cluster_address_when_ssh_goes_elsewhere():
    values = example()
    values["nodes"][0]["clusterAddress"] = "10.0.2.15"
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    assert deployed.command("elma365-3-join").inputs["stdin"].startswith("10.0.2.15:25000/")
    assert "grep -F 10.0.2.15:19001 >/dev/null" in deployed.command("elma365-3-join").inputs["create"]


def test_the_join_token_is_a_secret_and_never_logged(site):
    for node in NODES[1:]:
        add_node = site.command(f"{node}-add-node")
        assert add_node.inputs["logging"] == "none"
        assert {"stdout", "stderr"} <= set(add_node.options["additionalSecretOutputs"])
        assert "92b2db237428470dc4fcfc4ebbd9dc81" not in add_node.inputs["create"]
        assert "92b2db237428470dc4fcfc4ebbd9dc81" not in site.command(f"{node}-join").inputs["create"]


def test_a_failed_join_tells_how_to_get_a_fresh_token(site):
    script = shlex.split(site.command("elma365-3-join").inputs["create"])[-1]
    urn = site.command("elma365-3-add-node").urn
    hint = "get a fresh one with: pulumi up --replace " + shlex.quote(urn)
    assert f"fresh_token_hint={shlex.quote(hint)}" in script
    # what the operator reads, as bash prints it:
    printed = subprocess.run(["bash", "-c", f"fresh_token_hint={shlex.quote(hint)}; echo \"$fresh_token_hint\""],
                             capture_output=True, text=True).stdout.strip()
    assert printed == f"get a fresh one with: pulumi up --replace '{urn}'"


def test_no_step_has_a_delete_so_a_replace_rename_or_destroy_runs_nothing_on_a_server(site):
    # pulumi-command runs a stored delete on --replace, on a rename and on a (partial) destroy too
    assert [c.name for c in site.commands if c.inputs.get("delete")] == []


def test_settings_then_scale_then_ha_come_after_the_last_join(site):
    assert site.depends("reconfigure", on="elma365-3-join")
    assert site.depends("scale-all", on="reconfigure")
    assert "elma365ctl scale all 3" in site.command("scale-all").inputs["create"]
    assert site.depends("elma365-1-update-hamode", on="scale-all")


def test_ha_updates_one_node_at_a_time_then_restarts_once_last(site):
    assert site.reaches("elma365-1-update-hamode", on="reconfigure")
    assert site.depends("elma365-2-update-hamode", on="elma365-1-update-hamode")
    assert site.depends("elma365-3-update-hamode", on="elma365-2-update-hamode")
    restarts = [c for c in site.commands if "elma365ctl restart" in c.inputs["create"]]
    assert [c.name for c in restarts] == ["restart"]
    for c in site.commands:
        # the kubeconfig read (read-only) runs beside scaling and HA, right after the last join; a
        # node's refresh hold right after its install or join
        if c.name not in ("restart", "haproxy-config", "haproxy-version", "elma365-1-kubeconfig") and \
                not c.name.endswith("-microk8s-hold"):
            assert site.reaches("restart", on=c.name), c.name
    for node in NODES:
        update = site.command(f"{node}-update-hamode")
        assert host_of(update) == {"elma365-1": "192.168.1.51", "elma365-2": "192.168.1.52",
                                   "elma365-3": "192.168.1.53"}[node]
        assert "elma365ctl update-hamode" in update.inputs["create"]
        # it runs when the HA settings differ from what its node applied last (their digest, on stdin)
        assert update.inputs["stdin"].splitlines()[0] == digest({"enabled": True, "replicas": 3, "failoverSeconds": 60})
        assert update.is_secret("stdin")


def test_reconfigure_answers_ha_questions_from_the_config(site):
    import base64
    reconfigure = site.command("reconfigure")
    assert 'expect -f "$driver" -- elma365ctl reconfigure' in reconfigure.inputs["create"]
    stdin = reconfigure.inputs["stdin"]
    encoded = re.search(r"\[list ([^\]]*)\]", stdin).group(1).split()
    pairs = dict(zip([base64.b64decode(x).decode() for x in encoded[::2]],
                     [base64.b64decode(x).decode() for x in encoded[1::2]]))
    assert pairs["(?i)enable high availability mode"] == "y"
    assert pairs["(?i)number of replicas for system services"] == "3"
    assert pairs["(?i)time of moving application services"] == "60"
    assert reconfigure.is_secret("stdin")


def test_haproxy_lists_every_node_and_validates_before_replacing(site):
    apply = site.command("haproxy-config")
    config = apply.inputs["stdin"]
    for i, node in enumerate(NODES, start=1):
        assert f"server {node} 192.168.1.5{i}:80 check" in config
    assert "balance leastconn" in config and "option forwardfor" in config and "option httpchk" in config
    assert "http-use-htx" not in config
    create = apply.inputs["create"]
    assert create.index('haproxy -c -f "$check"') < create.index('mv -f "$new" "$cfg"') < create.index("systemctl reload-or-restart haproxy")
    # rendered for the version the host reports (the mocks say 2.6): the 2.2+ health-check syntax
    assert "http-check send meth HEAD uri /" in config and "# rendered for HAProxy 2.6" in config
    version = site.command("haproxy-version")
    # nothing is put in front of the nodes before every node reported what it runs (a site that
    # already runs ELMA365 is refused there); then it overlaps the serial chain
    preflights = {site.command(f"elma365-{i}-preflight").urn for i in (1, 2, 3)}
    assert "haproxy -v" in version.inputs["create"] and version.depends_on == preflights
    assert apply.depends_on == {version.urn}


def test_secrets_reach_servers_only_as_secrets():
    values = example()
    values["install"]["externalServices"] = {"postgresql": PG_URL}
    values["install"]["answers"].append({"prompt": "(?i)admin password", "answer": "Adm1n-Secret"})
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    for c in deployed.commands:
        assert c.is_secret("connection"), c.name
        visible = " ".join(str(c.inputs.get(k, "")) for k in ("create", "update", "delete", "logging", "triggers"))
        for secret in (TEST_KEY.splitlines()[1], PG_PASSWORD, "Adm1n-Secret"):
            assert secret not in visible, (c.name, secret)
        if "stdin" in c.inputs:
            assert c.is_secret("stdin"), c.name
    install = deployed.command("elma365-1-install")
    assert install.inputs["logging"] == "stderr"
    assert "log_user 0" in install.inputs["stdin"]
    cluster = next(r for r in deployed.registrations if r.type == "elma365:cluster:Elma365Cluster")
    assert PG_PASSWORD not in str(cluster.inputs) and "TESTKEYMATERIAL" not in str(cluster.inputs)
    assert cluster.inputs["install"]["externalServices"] == ["postgresql"]


def test_a_sudo_user_runs_every_command_through_sudo():
    values = example()
    values["ssh"].update(user="deploy", sudo=True)
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    for c in deployed.commands:
        if c.name.endswith("-preflight"):  # runs as the login user: it checks that `sudo -n` works
            assert c.inputs["create"].startswith("bash -c ") and "sudo -n true" in c.inputs["create"], c.name
            continue
        assert c.inputs["create"].startswith("sudo -n bash -c "), c.name
        assert c.inputs["connection"]["user"] == "deploy"


def test_root_needs_no_sudo(site):
    for c in site.commands:
        assert c.inputs["create"].startswith("bash -c "), c.name


def test_bastion_and_pinned_host_keys_reach_the_connection():
    values = example()
    values["ssh"]["bastion"] = {"host": "jump.example.com", "port": 2222, "user": "jump",
                                "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJUMPHOSTKEY"}
    values["nodes"][1]["hostKey"] = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEY"
    values["nodes"][1]["port"] = 2200
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    conn = deployed.command("elma365-2-join").inputs["connection"]
    assert conn["proxy"]["host"] == "jump.example.com" and conn["proxy"]["port"] == 2222
    assert conn["proxy"]["user"] == "jump"
    assert conn["proxy"]["hostKey"] == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJUMPHOSTKEY"  # the bastion pinned too
    assert conn["hostKey"] == "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIEXAMPLEKEY"
    assert conn["port"] == 2200
    assert deployed.command("elma365-3-join").inputs["connection"]["port"] == 22


def test_outputs_tell_what_the_cluster_was_configured_to(site):
    assert site.exports["nodeNames"] == NODES
    assert site.exports["mainNode"] == "elma365-1"
    assert site.exports["haproxyUrl"] == "http://192.168.1.50/"
    assert site.exports["configured"] == {"replicas": {"all": 3}, "autoscaling": None,
                                          "ha": {"enabled": True, "replicas": 3, "failoverSeconds": 60}}


def test_the_same_config_renders_the_same_commands_every_run(site):
    again = run_program(example(), SECRET_KEYS, mocks=cluster_outputs())
    assert {c.name: c.inputs for c in again.commands} == {c.name: c.inputs for c in site.commands}


def test_autoscaling_is_set_by_reconfigure_before_any_manual_scale():
    values = example(scaling={"autoscaling": {"enabled": False}, "replicas": {"all": 3, "main": 2}})
    deployed = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    assert deployed.depends("reconfigure", on="elma365-3-join")
    assert deployed.depends("scale-all", on="reconfigure")
    assert deployed.depends("scale-main", on="scale-all")
    assert "elma365ctl scale main 2" in deployed.command("scale-main").inputs["create"]


def test_changing_one_service_count_changes_only_its_command(site):
    values = example(scaling={"replicas": {"all": 3, "main": 2}})
    before = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    values = example(scaling={"replicas": {"all": 3, "main": 3}})
    after = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    old = {c.name: c.inputs for c in before.commands}
    changed = [c.name for c in after.commands if c.inputs != old[c.name]]
    assert changed == ["scale-main"]


def test_adding_a_node_adds_its_steps_and_touches_no_other_node():
    base = run_program(example(), SECRET_KEYS, mocks=cluster_outputs())
    values = example()
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    grown = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    old = {c.name: c.inputs for c in base.commands}
    new = {c.name: c.inputs for c in grown.commands}
    assert sorted(set(new) - set(old)) == ["elma365-4-add-node", "elma365-4-join", "elma365-4-microk8s-hold",
                                           "elma365-4-preflight", "elma365-4-prepare", "elma365-4-update-hamode"]
    assert [n for n in old if old[n] != new[n]] == ["haproxy-config"]
    assert grown.depends("elma365-4-add-node", on="elma365-3-join")
    assert grown.depends("elma365-4-update-hamode", on="elma365-3-update-hamode")


def test_every_node_gets_its_microk8s_refreshes_held_right_after_it_runs_microk8s(site):
    assert site.depends("elma365-1-microk8s-hold", on="elma365-1-install")
    for node in NODES[1:]:
        hold = site.command(f"{node}-microk8s-hold")
        assert site.depends(f"{node}-microk8s-hold", on=f"{node}-join") and host_of(hold) != "192.168.1.51"
        assert "snap refresh --hold microk8s" in hold.inputs["create"]
