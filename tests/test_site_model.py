"""One model of the site config (components/model.py): its fields are the config's keys, their
defaults declared there and collected into one table (components/rules/defaults.py), and its
projection (components/site_view.py) shows the same keys and never a secret."""
from __future__ import annotations

import dataclasses
import json
import subprocess
import sys

from components import model, rules
from components.keys import key_of
from components.rules import DEFAULTS, WHILE_OFF
from components.site import parse_site
from components.site_view import view
from tests.mock_runtime import ROOT_DIR
from tests.sites import PG_URL, SECRET_KEYS, example

# each model class, where it sits in the config, and the keys its rule knows there
SECTIONS = [
    (model.Site, "", rules.TOP_LEVEL_KEYS),
    (model.Ssh, "ssh", rules.SSH_KEYS),
    (model.Bastion, "ssh.bastion", rules.BASTION_KEYS),
    (model.Node, "nodes[]", rules.NODE_KEYS),
    (model.Install, "install", rules.INSTALL_KEYS),
    (model.Answer, "install.answers[]", ("prompt", "answer")),
    (model.Certificates, "install.certificates", rules.CERTIFICATES_KEYS),
    (model.Scaling, "scaling", rules.SCALING_KEYS),
    (model.Autoscaling, "scaling.autoscaling", ("enabled", "minReplicas", "maxReplicas")),
    (model.Ha, "ha", rules.keys_of(model.Ha)),
    (model.Haproxy, "haproxy", rules.HAPROXY_KEYS),
    (model.BalancerHost, "haproxy.hosts[]", rules.BALANCER_KEYS),
    (model.HaproxyTimeouts, "haproxy.timeouts", rules.HAPROXY_TIMEOUT_KEYS),
    (model.HealthCheck, "haproxy.healthCheck", rules.HAPROXY_HEALTH_KEYS),
    (model.HaproxyStats, "haproxy.stats", rules.HAPROXY_STATS_KEYS),
    (model.HaproxyTls, "haproxy.tls", rules.HAPROXY_TLS_KEYS),
    # the virtual IP's address and prefix length come from haproxy.virtualIp
    (model.Keepalived, "haproxy.keepalived", rules.KEEPALIVED_KEYS + ("address", "prefixLength")),
    (model.Preflight, "preflight", rules.PREFLIGHT_KEYS),
    (model.Kubernetes, "kubernetes", rules.KUBERNETES_KEYS),
]


def test_every_field_of_the_model_is_a_key_its_rule_knows():
    for cls, _, known in SECTIONS:
        assert {key_of(f) for f in dataclasses.fields(cls)} <= set(known), cls.__name__


def test_the_models_defaults_are_the_tables_and_the_table_has_no_other():
    held = {}
    for cls, path, _ in SECTIONS:
        for f in dataclasses.fields(cls):
            # none (None, no answers) and a section's own defaults are not the table's business
            if f.default not in (dataclasses.MISSING, None, ()) and not dataclasses.is_dataclass(f.default):
                held[f"{path}.{key_of(f)}".lstrip(".")] = f.default
    assert held == {**DEFAULTS, **WHILE_OFF}


def test_the_projection_shows_the_configs_keys_and_no_secret():
    values = example()
    values["ssh"]["privateKeyPassword"] = "key-Passphrase-1"
    values["install"]["externalServices"] = {"postgresql": PG_URL}
    values["haproxy"]["stats"] = {"bind": "127.0.0.1:8404", "user": "ops", "password": "Stats-Passw0rd"}
    site = parse_site(values, SECRET_KEYS | {"haproxy"})
    shown = view(site)
    assert shown["haproxy"]["bind"] == values["haproxy"]["bind"] and shown["ha"] == values["ha"]
    assert shown["nodes"][1]["address"] == values["nodes"][1]["address"]
    assert shown["install"]["externalServices"] == ["postgresql"]   # a map of secrets: its names only
    text = json.dumps(shown)
    for secret in ("TESTKEYMATERIAL", "key-Passphrase-1", PG_URL, "Stats-Passw0rd", values["install"]["answers"][0]["answer"]):
        assert secret not in text


def test_every_module_imports_first():
    """The model's modules import each other (site.py, rules/, site_view.py): whichever a caller
    imports first (`make verify` starts at components.verify, the pack at policies), none is met half
    initialized."""
    modules = sorted(".".join(p.relative_to(ROOT_DIR).with_suffix("").parts).removesuffix(".__init__")
                     for folder in ("components", "policies") for p in (ROOT_DIR / folder).rglob("*.py")
                     if p.name != "__main__.py")
    code = ("import importlib, sys\n"
            f"for name in {modules!r}:\n"
            "    for loaded in [m for m in sys.modules if m.split('.')[0] in ('components', 'policies')]:\n"
            "        del sys.modules[loaded]\n"
            "    importlib.import_module(name)\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT_DIR, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert len(modules) > 30
