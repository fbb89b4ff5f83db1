"""The Kubernetes view: the main node's kubeconfig (a secret), and, with kubernetes.enabled, a
provider built from it and one NodePatch per node with the labels the site config declares."""
from __future__ import annotations

import pytest
from pulumi.runtime.sync_await import _sync_await

from components.render.kubernetes import KubeconfigError, required, with_server
from components.site import SiteConfigError, parse_site
from tests.mock_runtime import Outputs, run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example

TOKEN = "c2VjcmV0LWxhYi1hZG1pbi10b2tlbg"
KUBECONFIG = f"""apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: TFMwdExTMUNSVWRKVGlCRFJWSlVTVVpKUTBGVVJTMHRMUzB0
    server: https://127.0.0.1:16443
  name: microk8s-cluster
contexts:
- context:
    cluster: microk8s-cluster
    user: admin
  name: microk8s
current-context: microk8s
kind: Config
preferences: {{}}
users:
- name: admin
  user:
    token: {TOKEN}
"""
PROVIDER = "pulumi:providers:kubernetes"
NODE_PATCH = "kubernetes:core/v1:NodePatch"


def outputs() -> Outputs:
    cluster = cluster_outputs()

    def stdout(args):
        return KUBECONFIG if args.name.endswith("-kubeconfig") else cluster.stdout(args)
    return Outputs(stdout)


def deploy(values):
    return run_program(values, SECRET_KEYS, mocks=outputs())


def enabled(**kubernetes):
    values = example(kubernetes={"enabled": True, **kubernetes})
    values["nodes"][0].update(zone="dc-a", rack="r1")
    values["nodes"][1].update(zone="dc-a", rack="r2", labels={"elma365.com/pool": "web"})
    values["nodes"][2].update(zone="dc-b")
    return values


@pytest.fixture(scope="module")
def on():
    return deploy(enabled(labels={"elma365.com/site": "moscow"}))


@pytest.fixture(scope="module")
def off():
    return deploy(example())


def secret_value(output):
    return _sync_await(output.future()), _sync_await(output.is_secret())


def test_the_kubeconfig_is_read_after_the_last_join_as_a_secret_with_logging_off(off):
    read = off.command("elma365-1-kubeconfig")
    assert "microk8s config" in read.inputs["create"]
    assert read.inputs["connection"]["host"] == "192.168.1.51"
    assert read.inputs["logging"] == "none"
    assert {"stdout", "stderr"} <= set(read.options["additionalSecretOutputs"])
    assert off.depends("elma365-1-kubeconfig", on="elma365-3-join")
    assert not off.reaches("elma365-3-join", on="elma365-1-kubeconfig")


def test_the_kubeconfig_is_a_secret_stack_output_pointing_at_the_main_nodes_address():
    deployed = deploy(example())
    value, secret = secret_value(deployed.exports["kubeconfig"])
    assert secret
    assert "server: https://192.168.1.51:16443" in value and "127.0.0.1" not in value
    assert f"token: {TOKEN}" in value  # the rest is kept as it was


def test_nothing_kubernetes_side_exists_when_disabled(off):
    assert not [r for r in off.registrations if r.type.startswith(("kubernetes:", "pulumi:providers:kubernetes"))]
    assert not [r for r in off.registrations if r.type == "elma365:cluster:KubernetesNodes"]
    assert off.exports["kubernetesNodes"] is None


def test_the_provider_gets_the_secret_kubeconfig(on):
    providers = [r for r in on.registrations if r.type == PROVIDER]
    assert len(providers) == 1
    provider = providers[0]
    assert provider.is_secret("kubeconfig")
    assert "server: https://192.168.1.51:16443" in provider.inputs["kubeconfig"]
    # the token reaches nothing but the provider's secret input
    for r in on.registrations:
        if r is provider:
            continue
        for key, value in r.inputs.items():
            assert TOKEN not in str(value) or r.is_secret(key), (r.name, key)


def test_each_node_gets_a_node_patch_with_its_declared_labels_only(on):
    patches = {r.inputs["metadata"]["name"]: r for r in on.registrations if r.type == NODE_PATCH}
    assert sorted(patches) == ["elma365-1", "elma365-2", "elma365-3"]
    assert patches["elma365-1"].inputs["metadata"]["labels"] == {
        "elma365.com/role": "main", "elma365.com/site": "moscow", "elma365.com/rack": "r1",
        "topology.kubernetes.io/zone": "dc-a"}
    assert patches["elma365-2"].inputs["metadata"]["labels"] == {
        "elma365.com/role": "worker", "elma365.com/site": "moscow", "elma365.com/pool": "web",
        "elma365.com/rack": "r2", "topology.kubernetes.io/zone": "dc-a"}
    assert patches["elma365-3"].inputs["metadata"]["labels"] == {
        "elma365.com/role": "worker", "elma365.com/site": "moscow", "topology.kubernetes.io/zone": "dc-b"}
    for patch in patches.values():
        # metadata.name and labels: nothing else of the Node object is in the patch
        assert set(patch.inputs) <= {"metadata", "apiVersion", "kind"}
        assert set(patch.inputs["metadata"]) == {"name", "labels"}


def test_node_patches_come_after_the_ha_roll_out(on):
    # the roll-outs that restart nodes: HA, then the certificates' renewal (the main node's last)
    last = on.command("elma365-1-certificates-check")
    assert on.reaches("elma365-1-certificates-check", on="restart")
    for r in on.registrations:
        if r.type == NODE_PATCH:
            assert last.urn in r.depends_on


def test_outputs_name_every_node_and_its_labels(on):
    nodes = {name: _sync_await(labels.future()) for name, labels in on.exports["kubernetesNodes"].items()}
    assert sorted(nodes) == ["elma365-1", "elma365-2", "elma365-3"]
    assert nodes["elma365-1"]["elma365.com/role"] == "main"
    assert nodes["elma365-3"]["topology.kubernetes.io/zone"] == "dc-b"


@pytest.mark.parametrize("change, message", [
    ({"kubernetes": {"enabled": "yes"}}, 'elma365:kubernetes.enabled = "yes": must be true or false'),
    ({"kubernetes": {"labels": {"elma365.com/role": "db"}}},
     'elma365:kubernetes.labels.elma365.com/role = "db": is set by the program'),
    ({"kubernetes": {"labels": {"bad key!": "x"}}}, "elma365:kubernetes.labels.bad key! = \"x\": the label key must be"),
    ({"kubernetes": {"labels": {"tier": "a b"}}}, 'elma365:kubernetes.labels.tier = "a b": the label value must be'),
    ({"kubernetes": {"labels": ["tier"]}}, "elma365:kubernetes.labels = [\"tier\"]: must be an object of Kubernetes labels"),
    ({"kubernetes": {"apiServer": "x"}}, "elma365:kubernetes.apiServer = \"x\": unknown key (known: enabled, labels)"),
])
def test_bad_kubernetes_settings_are_refused(change, message):
    with pytest.raises(SiteConfigError) as err:
        parse_site(example(**change), SECRET_KEYS)
    assert message in str(err.value)


@pytest.mark.parametrize("node, message", [
    ({"zone": "dc a"}, 'elma365:nodes[1].zone = "dc a": must be a Kubernetes label value'),
    ({"rack": ""}, 'elma365:nodes[1].rack = "": must be a Kubernetes label value'),
    ({"labels": {"topology.kubernetes.io/zone": "x"}}, "elma365:nodes[1].labels.topology.kubernetes.io/zone"),
])
def test_bad_node_topology_is_refused(node, message):
    values = example()
    values["nodes"][1].update(node)
    with pytest.raises(SiteConfigError) as err:
        parse_site(values, SECRET_KEYS)
    assert message in str(err.value)


def test_with_server_sets_the_address_and_keeps_the_port():
    assert "server: https://10.1.2.3:16443\n" in with_server(KUBECONFIG, "10.1.2.3")
    assert "server: https://[fd00::5]:16443\n" in with_server(KUBECONFIG, "fd00::5")
    other = KUBECONFIG.replace("127.0.0.1:16443", "127.0.0.1:6443")
    assert "server: https://node1.example.com:6443\n" in with_server(other, "node1.example.com")


def test_a_provider_never_gets_an_empty_or_serverless_kubeconfig():
    with pytest.raises(KubeconfigError, match="empty"):
        required("")
    with pytest.raises(KubeconfigError) as err:
        required(f"users:\n- token: {TOKEN}\n")
    assert TOKEN not in str(err.value)
