"""Day-2 rules of the program, read off the registered resources (mock runtime): what a change
may do given the previous deployment's record, and what each step applies."""
from __future__ import annotations

import copy
import shlex

import pulumi
import pytest

from components.record import Record
from components.render.high_availability import HA_OFF
from components.render.shell import digest
from components.site import parse_site
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example


def deployed(values, previous_values=None):
    """A run of the program whose previous deployment exported the record of `previous_values`."""
    previous = {"site": Record.of(parse_site(previous_values, SECRET_KEYS)).to_dict()} if previous_values else {}
    mocks = cluster_outputs()
    mocks.previous = previous
    return run_program(values, SECRET_KEYS, mocks=mocks)


def refused(values, previous_values=None) -> str:
    registered = []
    with pytest.raises(pulumi.RunError) as error:
        previous = {"site": Record.of(parse_site(previous_values, SECRET_KEYS)).to_dict()}
        mocks = cluster_outputs()
        mocks.previous = previous
        run_program(values, SECRET_KEYS, mocks=mocks, registered=registered)
    # nothing but the stack and the read of its own previous outputs: no step exists
    assert {r.type for r in registered} <= {"pulumi:pulumi:Stack", "pulumi:pulumi:StackReference"}
    assert "nothing was changed on any server" in str(error.value)
    return str(error.value)


def four_nodes():
    values = example()
    values["nodes"].append({"name": "elma365-4", "address": "192.168.1.54"})
    return values


def test_reordered_nodes_are_refused_naming_the_main_node():
    values = example()
    values["nodes"] = [values["nodes"][1], values["nodes"][0], values["nodes"][2]]
    message = refused(values, example())
    assert ("elma365:nodes[0] is elma365-2, but the main node of this site is elma365-1 (ELMA365 was installed "
            "there and every other node joined it); it is nodes[1] now. Put elma365-1 back first") in message


def test_the_main_node_removed_is_refused():
    values = four_nodes()
    values["nodes"] = values["nodes"][1:]
    assert "the main node of this site is elma365-1" in refused(values, four_nodes())
    assert "it is missing from elma365:nodes" in refused(values, four_nodes())


def test_two_nodes_out_in_one_run_are_refused():
    values = four_nodes()
    values["nodes"].append({"name": "elma365-5", "address": "192.168.1.55"})
    before = copy.deepcopy(values)
    values["nodes"][3]["decommission"] = True
    values["nodes"] = values["nodes"][:4]
    assert "takes 2 nodes out of the cluster in one run (elma365-4, elma365-5)" in refused(values, before)


def test_a_deleted_entry_becomes_a_departure_from_the_record():
    values = example()
    run = deployed(values, four_nodes())
    drain, leave, remove = (run.command(f"elma365-4-{s}") for s in ("drain", "leave", "remove-node"))
    assert drain.inputs["connection"]["host"] == "192.168.1.51" and "kubectl drain elma365-4" in drain.inputs["create"]
    assert leave.inputs["connection"]["host"] == "192.168.1.54" and "microk8s leave" in leave.inputs["create"]
    assert "microk8s remove-node elma365-4" in remove.inputs["create"]
    assert run.depends("elma365-4-leave", on="elma365-4-drain")
    assert run.depends("elma365-4-remove-node", on="elma365-4-leave")
    assert run.reaches("elma365-4-drain", on="haproxy-config")  # HAProxy stops sending it traffic first
    # once done, never again: a new key or script text must not make a departed node's steps run
    for step in (drain, leave, remove):
        assert "connection" in step.options["ignoreChanges"] and "create" in step.options["ignoreChanges"]


def test_decommission_force_runs_only_on_the_main_node():
    values = four_nodes()
    values["nodes"][3]["decommission"] = "force"
    run = deployed(values, four_nodes())
    mine = [c.name for c in run.commands if c.inputs["connection"]["host"] == "192.168.1.54"]
    assert mine == []
    assert "microk8s remove-node elma365-4 --force" in run.command("elma365-4-remove-node").inputs["create"]
    assert "server elma365-4 " not in run.command("haproxy-config").inputs["stdin"]


GUARDED = ("reconfigure", "scale-", "-update-hamode", "restart")


def test_an_update_of_a_settings_step_runs_its_create_so_it_never_records_without_applying():
    # no `update` of its own, no environment: an update (a new key, new script text) runs the
    # same guard as the create, and a node without a record applies
    values = example(scaling={"autoscaling": {"enabled": False}, "replicas": {"all": 3, "main": 2}})
    for adopt in (False, True):
        run = deployed({**values, "adopt": adopt})
        guarded = [c for c in run.commands if any(g in c.name for g in GUARDED)]
        assert len(guarded) == 7
        for command in guarded:
            assert command.inputs.get("update") is None and command.inputs.get("triggers") is None, command.name
            assert "ADOPT" not in command.inputs["create"], command.name


def test_only_a_take_over_mark_lets_a_settings_step_record_without_applying():
    run = deployed(example(adopt=True))
    script = shlex.split(run.command("elma365-2-update-hamode").inputs["create"])[-1]
    assert "elif [ -e /var/lib/elma365-cluster/applied/taken-over ]; then have=$want" in script
    # the node's last guarded step ends its take-over: a step added later applies for real
    assert script.count("&& rm -f /var/lib/elma365-cluster/applied/taken-over") == 2
    main = shlex.split(run.command("elma365-1-update-hamode").inputs["create"])[-1]
    assert "rm -f /var/lib/elma365-cluster/applied/taken-over" not in main
    assert "rm -f /var/lib/elma365-cluster/applied/taken-over" in run.command("restart").inputs["create"]
    for step in ("reconfigure", "scale-all"):
        if step in run.names:
            assert "rm -f /var/lib/elma365-cluster/applied/taken-over" not in run.command(step).inputs["create"]


def test_adopt_adds_no_step_and_only_the_install_and_joins_can_take_over():
    plain, adopting = deployed(example()), deployed(example(adopt=True))
    assert sorted(plain.names) == sorted(adopting.names)
    changed = sorted(c.name for c in plain.commands if c.inputs["create"] != adopting.command(c.name).inputs["create"])
    assert changed == ["elma365-1-install", "elma365-1-preflight", "elma365-2-join", "elma365-3-join"]
    install = shlex.split(adopting.command("elma365-1-install").inputs["create"])[-1]
    assert "taken over (elma365:adopt)" in install and "touch /var/lib/elma365-cluster/applied/taken-over" in install
    refusing = shlex.split(plain.command("elma365-1-install").inputs["create"])[-1]
    assert "taken over" not in refusing and "installed without elma365-cluster" in refusing
    assert "taken-over" not in plain.command("elma365-2-join").inputs["create"]


def test_settings_steps_carry_the_digest_of_what_they_apply_on_their_secret_stdin():
    run = deployed(example())
    restart = run.command("restart")
    ha_on = digest({"enabled": True, "replicas": 3, "failoverSeconds": 60})
    assert restart.inputs["stdin"].splitlines()[0] == ha_on and restart.is_secret("stdin")
    assert ha_on not in restart.inputs["create"]      # never on a command line
    script = shlex.split(restart.inputs["create"])[-1]
    assert f"else have={digest(HA_OFF)}" in script     # a node starts with HA off


def test_a_new_key_changes_connections_but_no_digest():
    before = deployed(example())
    values = example()
    values["ssh"]["privateKey"] = values["ssh"]["privateKey"].replace("TESTKEYMATERIAL", "ROTATEDKEY")
    after = deployed(values)
    new = {c.name: c.inputs for c in after.commands}
    for old in before.commands:
        assert old.inputs.get("stdin") == new[old.name].get("stdin"), old.name
        assert old.inputs["create"] == new[old.name]["create"], old.name
        assert old.inputs["connection"] != new[old.name]["connection"], old.name


def test_ha_off_updates_no_node_and_reconfigures_with_ha_off():
    values = example(ha={"enabled": False})
    run = deployed(values, example())
    for node in ("elma365-1", "elma365-2", "elma365-3"):
        assert "elma365ctl update-hamode" not in run.command(f"{node}-update-hamode").inputs["create"]
    assert run.command("restart").inputs["stdin"].splitlines()[0] == digest(HA_OFF)


def test_another_login_user_with_sudo_changes_commands_but_no_digest():
    """The lab's hosts take only root, so this one is read off the registrations: the settings
    digests a node compares with are the same, whoever logs in and however it becomes root."""
    before = deployed(example())
    values = example()
    values["ssh"].update(user="elma365op", sudo=True)
    after = deployed(values)
    new = {c.name: c.inputs for c in after.commands}
    for old in before.commands:
        assert old.inputs.get("stdin") == new[old.name].get("stdin"), old.name
        if old.name.endswith("-preflight"):
            continue  # it checks sudo itself, as the login user
        assert new[old.name]["create"].startswith("sudo -n bash -c "), old.name


def replaced_dead_node():
    """elma365-3 dead: `decommission: "force"` and a new server elma365-4, in one change."""
    values = four_nodes()
    values["nodes"][2]["decommission"] = "force"
    return values


def test_a_dead_nodes_removal_comes_first_and_waits_on_the_checks_only():
    site = deployed(replaced_dead_node(), example())
    removal = site.command("elma365-3-remove-node")
    # the checks, and the places of the datastore backup it takes first (docs/backups.md): no cluster change
    assert {site.by_urn(u).name for u in removal.depends_on} == {
        "elma365-1-preflight", "elma365-2-preflight", "elma365-4-preflight", "elma365-1-quorum",
        "elma365-1-backup-places"}
    assert removal.inputs["connection"]["host"] == "192.168.1.51"   # on the main node: nothing on the dead one
    # nothing runs on the dead node: no backup receiver there either, and its backup sends it no copy
    assert not [c for c in site.commands if c.inputs["connection"]["host"] == "192.168.1.53"]
    assert " leaving=elma365-3\n" in shlex.split(removal.inputs["create"])[-1]
    # everything that changes the cluster waits for it: the install, the joins and what follows them
    for step in ("elma365-1-install", "elma365-2-add-node", "elma365-4-add-node", "elma365-4-prepare",
                 "elma365-4-join", "elma365-4-update-hamode", "restart"):
        assert site.reaches(step, on="elma365-3-remove-node"), step
    assert "microk8s remove-node elma365-3 --force" in removal.inputs["create"]


def test_a_live_nodes_departure_still_waits_for_the_replacement_to_join():
    values = four_nodes()
    values["nodes"][2]["decommission"] = True
    site = deployed(values, example())
    assert site.reaches("elma365-3-drain", on="elma365-4-join")
    assert not site.reaches("elma365-4-add-node", on="elma365-3-remove-node")


def test_the_main_node_weighs_the_runs_membership_changes_before_anything_runs():
    site = deployed(replaced_dead_node(), example())
    check = site.command("elma365-1-quorum")
    assert check.inputs["connection"]["host"] == "192.168.1.51" and not check.depends_on
    script = shlex.split(check.inputs["create"])[-1]
    assert "quorum_forced=(192.168.1.53:19001)" in script and "quorum_joining=(elma365-4)" in script
    # everything waits for it, the forced removal and HAProxy included
    for step in ("elma365-3-remove-node", "haproxy-config", "elma365-1-install", "elma365-4-join"):
        assert site.reaches(step, on="elma365-1-quorum"), step
    # the preflight itself only reads the datastore's quorum (its `datastore` check); the gate over the plan is not in it
    assert "quorum_forced=" not in site.command("elma365-1-preflight").inputs["create"]


def test_only_a_run_that_changes_the_membership_has_the_quorum_check():
    names = lambda site: {c.name for c in site.commands}  # noqa: E731
    assert "elma365-1-quorum" not in names(deployed(example()))             # a new site: no datastore yet
    assert "elma365-1-quorum" not in names(deployed(example(), example()))  # nothing changes
    assert "elma365-1-quorum" in names(deployed(four_nodes(), example()))   # a join
    done = replaced_dead_node()
    assert "elma365-1-quorum" not in names(deployed(done, done))            # the replacement done: nothing
    left = four_nodes()
    left["nodes"][3]["decommission"] = True
    assert "elma365-1-quorum" in names(deployed(left, four_nodes()))        # a live node leaves


def test_make_plan_shows_the_dead_nodes_removal_before_the_install_and_the_joins(capsys):
    from tests.show_plan import main
    assert main("example-dead-node-replaced") == 0
    lines = [line.split() for line in capsys.readouterr().out.splitlines() if line.startswith(" ")]
    order = [words[1] for words in lines]
    assert order.index("elma365-3-remove-node") < order.index("elma365-1-install") < order.index("elma365-4-join")
    removal = next(words for words in lines if words[1] == "elma365-3-remove-node")
    assert removal[0] == "192.168.1.51" and "elma365-1-quorum," in removal and "elma365-4-preflight" in removal
