"""One naming module (components/names.py): every step the program registers has the name and the URN
it gives, whatever the site's shape; components are named by what they stand for, their steps
from them."""
from __future__ import annotations

from components import names
from tests.test_day2_program import deployed, four_nodes
from tests.test_virtual_ip import A, B, two_balancers
from tests.sites import example


def sites():
    decommissioned = four_nodes()
    decommissioned["nodes"][3]["decommission"] = True
    forced = four_nodes()
    forced["nodes"][3]["decommission"] = "force"
    yield deployed(example())
    yield deployed(example(scaling={"autoscaling": {"enabled": False}, "replicas": {"all": 3, "main": 2}}))
    yield deployed(decommissioned, four_nodes())
    yield deployed(forced, four_nodes())
    yield deployed(example(), four_nodes())                 # node 4's entry deleted
    yield deployed(two_balancers(A, B))
    yield deployed(two_balancers(A, vip=None), two_balancers(A, B))   # B taken out: its removals
    moved = example()
    moved["haproxy"]["host"] = B
    yield deployed(moved, example())                        # HAProxy moved to another host


def test_every_step_has_the_urn_the_naming_module_gives_it():
    seen = set()
    for run in sites():
        for command in run.commands:
            assert command.urn == names.urn("test", "elma365-cluster", command.name), command.name
            seen.add(names.component_of(command.name))
    assert seen == {names.PREFLIGHT, names.INSTALL, names.JOIN, names.SETTINGS, names.SCALING, names.HA,
                    names.HAPROXY, names.HAPROXY_REMOVAL, names.DEPARTURE, names.KUBECONFIG, names.HOLD,
                    names.CERTIFICATES, names.BACKUPS}


def test_components_are_named_by_what_they_stand_for_and_keep_their_old_names_as_aliases():
    run = deployed(four_nodes())
    joins = {r.name: r for r in run.registrations if r.type == names.type_of(names.JOIN)}
    assert sorted(joins) == ["elma365-2", "elma365-3", "elma365-4"]
    assert joins["elma365-2"].options["aliases"] == [{"spec": {"name": "join-elma365-2", "parentUrn": ""}}]
    install = next(r for r in run.registrations if r.type == names.type_of(names.INSTALL))
    assert install.name == "elma365-1" and install.options["aliases"][0]["spec"]["name"] == "install"
    children = [c.name for c in run.commands if c.parent == install.urn]
    assert children == [names.install("elma365-1"), names.microk8s_channel("elma365-1")]
