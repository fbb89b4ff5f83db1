"""A bad site config stops before any server is touched, with one clear message per problem."""
from __future__ import annotations


import pulumi
import pytest

from components.site import SiteConfigError, parse_site
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, example


def with_(path: str, value):
    """The example site with one value set (None deletes it); path like 'ha.failoverSeconds' or 'nodes[1].name'."""
    def build():
        values = example()
        target = values
        parts = path.replace("]", "").replace("[", ".").split(".")
        for part in parts[:-1]:
            target = target[int(part)] if isinstance(target, list) else target.setdefault(part, {})
        last = parts[-1]
        if isinstance(target, list):
            target[int(last)] = value
        elif value is None:
            target.pop(last, None)
        else:
            target[last] = value
        return values, set(SECRET_KEYS)
    return build


def two_nodes():
    values = example()
    values["nodes"] = values["nodes"][:2]
    return values, set(SECRET_KEYS)


def plaintext_key():
    return example(), {"install"}


def autoscaling_and_replicas():
    return example(scaling={"autoscaling": {"enabled": True, "minReplicas": 2, "maxReplicas": 4},
                            "replicas": {"all": 3}}), set(SECRET_KEYS)


def plaintext_connection_string():
    values = example()
    values["install"]["externalServices"] = {"postgresql": "postgres://u:p@db:5432/e"}
    return values, {"ssh"}


BAD_CONFIGS = [
    ("missing nodes", with_("nodes", None), "elma365:nodes = (missing): is required"),
    ("empty nodes", with_("nodes", []), "elma365:nodes = []: must be a non-empty list"),
    ("missing ssh", lambda: ({k: v for k, v in example().items() if k != "ssh"}, set(SECRET_KEYS)),
     "elma365:ssh = (missing): is required"),
    ("missing private key", with_("ssh.privateKey", None), "elma365:ssh.privateKey = (missing): is required"),
    ("plaintext private key", plaintext_key, "elma365:ssh.privateKey = (plaintext): must be a secret"),
    ("not a private key", with_("ssh.privateKey", "hunter2"),
     "elma365:ssh.privateKey = [secret]: must be a PEM/OpenSSH private key"),
    ("HA with two nodes", two_nodes, "elma365:ha.enabled = true: HA mode needs at least 3 active nodes, the site has 2 (not counting decommissioned ones): add the replacement node first, then decommission the old one in a later run"),
    ("failover 5", with_("ha.failoverSeconds", 5), "elma365:ha.failoverSeconds = 5: must be between 10 and 300"),
    ("failover 301", with_("ha.failoverSeconds", 301), "elma365:ha.failoverSeconds = 301: must be between 10 and 300"),
    ("HA replicas 2", with_("ha.replicas", 2), "elma365:ha.replicas = 2: must be a whole number >= 3"),
    ("HA without failover", with_("ha.failoverSeconds", None), "elma365:ha.failoverSeconds = (missing): is required when HA is enabled"),
    ("autoscaling with manual replicas", autoscaling_and_replicas,
     "elma365:scaling.replicas = {\"all\": 3}: manual scaling is not available while autoscaling is enabled"),
    ("min above max", with_("scaling.autoscaling", {"enabled": True, "minReplicas": 5, "maxReplicas": 2}),
     "elma365:scaling.autoscaling.minReplicas = 5: must not exceed maxReplicas (2)"),
    ("autoscaling off without Linkerd", lambda: (example(scaling={"autoscaling": {"enabled": False}, "linkerd": False}), set(SECRET_KEYS)),
     "elma365:scaling.linkerd = false: Linkerd must stay enabled when autoscaling is disabled"),
    ("duplicate node names", with_("nodes[2].name", "elma365-1"), "elma365:nodes[2].name = \"elma365-1\": duplicate: node names must be unique"),
    ("duplicate addresses", with_("nodes[1].address", "192.168.1.51"),
     "elma365:nodes[1].address = \"192.168.1.51\": duplicate: node addresses must be unique"),
    ("shell metacharacters in a name", with_("nodes[1].name", "x; rm -rf /"),
     "elma365:nodes[1].name = \"x; rm -rf /\": must be a host name label"),
    ("command substitution in an address", with_("nodes[2].address", "$(reboot)"),
     "elma365:nodes[2].address = \"$(reboot)\": must be an IPv4/IPv6 address or a DNS host name"),
    ("bad service name", with_("scaling.replicas", {"Main;ls": 2}),
     "elma365:scaling.replicas.Main;ls = \"Main;ls\": service names must match"),
    ("negative replicas", with_("scaling.replicas", {"main": -1}),
     "elma365:scaling.replicas.main = -1: must be a whole number of replicas between 0 and 100"),
    ("ssh port out of range", with_("ssh.port", 70000), "elma365:ssh.port = 70000: must be a port number between 1 and 65535"),
    ("node port zero", with_("nodes[1].port", 0), "elma365:nodes[1].port = 0: must be a port number"),
    ("backend port out of range", with_("haproxy.backendPort", 0), "elma365:haproxy.backendPort = 0: must be a port number"),
    ("haproxy without host", with_("haproxy.host", None), "elma365:haproxy.host = (missing): is required when haproxy is set"),
    ("bad haproxy bind", with_("haproxy.bind", "80"), "elma365:haproxy.bind = \"80\": must be <address>:<port>"),
    ("relative config path", with_("haproxy.configPath", "haproxy.cfg"), "elma365:haproxy.configPath = \"haproxy.cfg\": must be an absolute path"),
    ("plaintext connection string", plaintext_connection_string,
     "elma365:install.externalServices = (plaintext): connection strings must be secrets"),
    ("unknown external service", with_("install.externalServices", {"oracle": "x"}),
     "elma365:install.externalServices.oracle = [secret]: unknown key"),
    ("answer prompt not a regex", with_("install.answers", [{"prompt": "(unclosed", "answer": "x"}]),
     "elma365:install.answers[0].prompt = \"(unclosed\": is not a valid regular expression"),
    ("answer without text", with_("install.answers", [{"prompt": "domain"}]),
     "elma365:install.answers[0].answer = [secret]: is required"),
    ("typo in a key", with_("ha.failoverSecond", 30), "elma365:ha.failoverSecond = 30: unknown key"),
    ("bad host key", with_("nodes[0].hostKey", "AAAA"), "elma365:nodes[0].hostKey = \"AAAA\": must be an SSH public host key line"),
    ("installer URL with a quote", with_("install.installerUrl", "https://x/'; reboot"),
     "elma365:install.installerUrl = \"https://x/'; reboot\": must be an http(s) URL"),
    ("ssh user with a space", with_("ssh.user", "root -oProxyCommand=x"), "elma365:ssh.user = \"root -oProxyCommand=x\": must be a plain login name"),
    ("two nodes without HAProxy", lambda: (example(nodes=example()["nodes"][:2], ha={"enabled": False},
                                                    haproxy=None), set(SECRET_KEYS)),
     "elma365:haproxy = (missing): is required when the site has 2 or more nodes (it has 2)"),
    ("HA flag not a bool", with_("ha.enabled", "yes"), "elma365:ha.enabled = \"yes\": is required: true or false"),
    ("decommissioning the main node", with_("nodes[0].decommission", True),
     "elma365:nodes[0].decommission = true: the main node (elma365-1) cannot be decommissioned"),
    ("an unknown decommission value", with_("nodes[2].decommission", "now"),
     'elma365:nodes[2].decommission = "now": must be false, true (a live node: drain, leave, remove) or "force"'),
    ("decommission as a number", with_("nodes[2].decommission", 1),
     'elma365:nodes[2].decommission = 1: must be false, true'),
    ("an ssh-rsa host key pin", with_("nodes[1].hostKey", "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7"),
     "ssh-rsa host keys are checked with SHA-1 signatures, which OpenSSH 8.8 and later refuse: pin the server's "
     "ssh-ed25519 key instead"),
    ("a bad bastion host key", with_("ssh.bastion", {"host": "10.0.0.1", "hostKey": "AAAA"}),
     "elma365:ssh.bastion.hostKey = \"AAAA\": must be an SSH public host key line"),
    ("datastore backups out of range", with_("install.datastoreBackups", -1),
     "elma365:install.datastoreBackups = -1: must be a whole number between 0 (no backups) and 100"),
    ("a backup host without a pinned host key", with_("install.datastoreBackupHost", {"host": "10.0.0.9"}),
     "elma365:install.datastoreBackupHost.hostKey = (missing): is required: the main node sends the cluster's "
     "Secrets there, to this host key only"),
    ("a backup host folder that climbs out", with_("install.datastoreBackupHost", {
        "host": "10.0.0.9", "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackup", "path": "/srv/../etc"}),
     'elma365:install.datastoreBackupHost.path = "/srv/../etc": must be an absolute folder path'),
    ("a backup host while no backup is taken", lambda: (example(install={
        **example()["install"], "datastoreBackups": 0,
        "datastoreBackupHost": {"host": "10.0.0.9", "hostKey": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackup"}}),
        set(SECRET_KEYS)),
     "elma365:install.datastoreBackupHost = {\"host\": \"10.0.0.9\", \"hostKey\": \"ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBackup\"}: "
     "needs install.datastoreBackups above 0"),
    ("decommission below the HA quorum", with_("nodes[2].decommission", "force"),
     "elma365:ha.enabled = true: HA mode needs at least 3 active nodes, the site has 2 (not counting decommissioned ones)"),
]


@pytest.mark.parametrize("build,message", [c[1:] for c in BAD_CONFIGS], ids=[c[0] for c in BAD_CONFIGS])
def test_a_bad_config_is_refused_before_any_resource(build, message):
    values, secret_keys = build()
    registered = []
    with pytest.raises(pulumi.RunError) as error:
        run_program(values, secret_keys, registered=registered)
    assert message in str(error.value)
    assert "nothing was changed on any server" in str(error.value)
    assert [r.type for r in registered] == ["pulumi:pulumi:Stack"]


def test_there_are_at_least_25_bad_configs_each_with_its_own_message():
    assert len(BAD_CONFIGS) >= 25
    assert len({c[2] for c in BAD_CONFIGS}) == len(BAD_CONFIGS)


def test_every_problem_is_reported_at_once():
    values = example()
    values["ha"]["failoverSeconds"] = 5
    values["nodes"][1]["name"] = "bad name"
    values["haproxy"]["backendPort"] = 0
    with pytest.raises(SiteConfigError) as error:
        parse_site(values, SECRET_KEYS)
    assert [str(v) for v in error.value.violations] == [
        'elma365:nodes[1].name = "bad name": must be a host name label: lower-case letters, digits and \'-\', at most 63',
        "elma365:ha.failoverSeconds = 5: must be between 10 and 300",
        "elma365:haproxy.backendPort = 0: must be a port number between 1 and 65535",
    ]


def test_no_secret_value_appears_in_an_error():
    values = example()
    values["ssh"]["privateKey"] = "not-a-key-SECRETVALUE"
    values["install"]["externalServices"] = {"postgresql": "", "oracle": "ora://SECRETVALUE"}
    with pytest.raises(SiteConfigError) as error:
        parse_site(values, SECRET_KEYS)
    assert "SECRETVALUE" not in str(error.value)


def test_the_example_site_is_valid_and_defaults_are_the_manuals():
    site = parse_site(example(), SECRET_KEYS)
    assert [n.name for n in site.nodes] == ["elma365-1", "elma365-2", "elma365-3"]
    assert site.main.cluster_address == "192.168.1.51"
    assert site.install.edition == "enterprise"
    assert site.install.installer_url == "https://dl.elma365.com/onPremise/master/latest/download"
    assert site.haproxy.config_path == "/etc/haproxy/haproxy.cfg"
    assert site.haproxy.reload_command == "systemctl reload-or-restart haproxy"
    assert "TESTKEY" not in repr(site)
    # the vendor's published minimum for one ELMA365 On-Premises Enterprise server
    assert (site.preflight.min_cpu_cores, site.preflight.min_memory_gib, site.preflight.min_free_disk_gib) == (10, 16, 100)


def test_a_misspelt_top_level_key_is_reported():
    """`elma365:hA` reaches the program only through the whole config the language host hands over
    (PULUMI_CONFIG): the program lists the keys from there, not from the SDK's private state."""
    values = example()
    values["hA"] = values.pop("ha")
    with pytest.raises(pulumi.RunError) as error:
        run_program(values, set(SECRET_KEYS))
    assert 'elma365:hA = {"enabled": true, "failoverSeconds": 60, "replicas": 3}: unknown key (known: adopt, ssh, ' \
           "nodes, install, scaling, ha, haproxy, preflight, kubernetes)" in str(error.value)
