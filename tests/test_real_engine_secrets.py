"""No secret in plain text, with the real Pulumi CLI: in the stack's state files, in
`pulumi stack export`, in what `pulumi up` prints, and in the failures it reports.

The checklist an operator would go through after a deploy on the lab:

- the secrets the site config holds: the SSH private key (a line of its body), the external
  PostgreSQL connection string and its password, the HAProxy stats password, and the installer's
  domain answer (set as a secret, as an operator does with an answer they do not want on disk);
- the secrets the run itself made: every join token `elma365ctl add-node` printed (the simulator
  keeps them in its state) and the cluster-admin token of the kubeconfig the stack exports;
- each looked for as it is and base64-encoded (the answers travel base64-encoded inside the
  expect driver on a command's stdin), in: every file the file backend keeps (checkpoint, its
  .bak, history, history checkpoints, backups), `pulumi stack export`, the CLI's printed output,
  the report's failures, and the CLI's event log.

A failing join, a failing install and a failing HAProxy apply matter most: the provider's error
carries the command and all of its output.

Each test gets a lab of its own (the lab's addresses are fixed, so one lab at a time).
"""
from __future__ import annotations

import base64
import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import yaml

from lab.harness import Lab
from lab.stack import Report
from tests.lab_support import needs_lab, refused, shown, stopped_at
from tests.sites import PG_PASSWORD, PG_URL

pytestmark = needs_lab

DOMAIN = "elma365.lab.example"     # the installer's domain answer in stacks/Pulumi.lab.yaml
STATS_PASSWORD = "St4ts-Secret-pw"  # haproxy.stats.password, a secret leaf of the lab's stack


# ---------------------------------------------------------------- the site's secrets, and where to look

def with_secrets(lab: Lab) -> dict[str, Any]:
    """The lab's stack plus an external PostgreSQL and a stats page: more secrets in the config."""
    values = copy.deepcopy(lab.values)
    values["install"]["externalServices"] = {"postgresql": PG_URL}
    values["haproxy"]["stats"] = {"bind": "127.0.0.10:8404", "uri": "/stats", "user": "admin",
                                  "password": STATS_PASSWORD}
    assert values["install"]["answers"][0]["answer"] == DOMAIN
    return values


def up_with_secret_answer(lab: Lab, values: dict[str, Any], **kwargs: Any) -> Report:
    """`pulumi up` after the operator's `pulumi config set --secret --path` of the domain answer too
    (the lab sets the other secret leaves the same way)."""
    lab.stack.configure(values)
    lab.stack.pulumi("config", "set", "--secret", "--path", "elma365:install.answers[0].answer", stdin=DOMAIN)
    stored = yaml.safe_load(lab.stack.config_file.read_text())["config"]["elma365:install"]["answers"][0]["answer"]
    assert set(stored) == {"secure"}, stored
    return lab.stack.up(**kwargs)


@dataclass
class Secret:
    what: str
    text: str


def key_line(values: dict[str, Any]) -> str:
    """A distinctive line of the private key's body (not its BEGIN/END frame)."""
    body = [line for line in values["ssh"]["privateKey"].splitlines() if line and not line.startswith("-----")]
    return max(body, key=len)


def kubeconfig_token(lab: Lab) -> list[Secret]:
    done = lab.stack.pulumi("stack", "output", "kubeconfig", "--show-secrets", "--stack", lab.stack.stack, check=False)
    found = re.findall(r"^\s*token: (\S+)$", done.stdout, re.M) if done.returncode == 0 else []
    return [Secret("the kubeconfig's admin token", token) for token in found]


def secrets_of(lab: Lab, values: dict[str, Any]) -> list[Secret]:
    found = [
        Secret("a line of the SSH private key", key_line(values)),
        Secret("the PostgreSQL connection string", PG_URL),
        Secret("the PostgreSQL password", PG_PASSWORD),
        Secret("the HAProxy stats password", STATS_PASSWORD),
        Secret("the installer's domain answer", DOMAIN),
    ]
    for token, info in lab.site.state().get("tokens", {}).items():
        found.append(Secret("a join token", token))
        found.append(Secret("a join token with its hash", f"{token}/{info['hash']}"))
    return found + kubeconfig_token(lab)


def forms(text: str) -> list[tuple[str, str]]:
    return [("as it is", text), ("base64", base64.b64encode(text.encode()).decode())]


def places(lab: Lab, report: Report) -> dict[str, str]:
    """Everything a secret must not be in, by name: the backend's files, the export, the run's output."""
    backend = lab.stack.backend
    found = {f"state file {p.relative_to(backend)}": p.read_text(errors="replace") for p in lab.stack.state_files()}
    found["pulumi stack export"] = json.dumps(lab.stack.export())
    found.update(shown(report))
    for log in sorted(lab.stack.workdir.glob("events-*.jsonl")):
        found[f"the CLI's event log {log.name}"] = log.read_text(errors="replace")
    return found


def leaks(where: dict[str, str], secrets: list[Secret]) -> list[str]:
    return [f"{s.what} ({form}) in {place}"
            for s in secrets for form, text in forms(s.text) for place, content in where.items() if text in content]


def kinds_of_state_files(lab: Lab) -> set[str]:
    kinds = set()
    for path in lab.stack.state_files():
        name = path.name
        if name.endswith(".attrs") or name == "meta.yaml":
            continue
        if "/backups/" in str(path):
            kinds.add("backup")
        elif name.endswith(".history.json"):
            kinds.add("history")
        elif name.endswith(".checkpoint.json"):
            kinds.add("history checkpoint")
        elif name.endswith(".json.bak"):
            kinds.add("checkpoint .bak")
        elif name.endswith(".json"):
            kinds.add("checkpoint")
    return kinds


# ---------------------------------------------------------------- a deploy that works

def test_a_full_up_with_an_external_postgresql_leaves_no_secret_in_state_export_or_output(new_lab):
    lab = new_lab()
    values = with_secrets(lab)
    report = up_with_secret_answer(lab, values)
    assert report.ok, report.failures

    # the simulated installer was asked for, and took, the external PostgreSQL
    settings = lab.site.state()["settings"]
    assert settings["external"] == ["PostgreSQL"]
    assert [e.action for e in lab.journal() if e.action == "installer"] == ["installer"]

    secrets = secrets_of(lab, values)
    assert len([s for s in secrets if s.what == "a join token"]) == 2      # elma365-2 and elma365-3
    assert len([s for s in secrets if s.what == "the kubeconfig's admin token"]) == 1
    assert kinds_of_state_files(lab) == {"checkpoint", "checkpoint .bak", "history", "history checkpoint", "backup"}

    assert leaks(places(lab, report), secrets) == []


def test_an_answer_left_in_plain_config_is_copied_only_where_pulumi_records_the_stack_config(new_lab):
    """stacks/Pulumi.lab.yaml keeps the domain answer in plain YAML. Pulumi copies the stack's plain
    config into each update's history file (`config`) and into the event log's prelude; no
    resource, output or printed line carries it. An answer that is a secret must be set with
    `pulumi config set --secret --path` (the tests above)."""
    lab = new_lab()
    report = lab.up()
    assert report.ok, report.failures

    found = leaks(places(lab, report), [Secret("the installer's domain answer", DOMAIN)])
    assert [re.sub(r"-\d{6,}\.|events-\d+", "<n>", f) for f in found] == [
        "the installer's domain answer (as it is) in state file .pulumi/history/elma365-cluster/lab/lab<n>history.json",
        "the installer's domain answer (as it is) in the CLI's event log <n>.jsonl",
    ]
    history = next(p for p in lab.stack.state_files() if p.name.endswith(".history.json"))
    record = json.loads(history.read_text())
    assert record["config"]["elma365:install"]["answers"][0]["answer"] == DOMAIN
    del record["config"]
    assert DOMAIN not in json.dumps(record)
    events = [json.loads(line) for log in lab.stack.workdir.glob("events-*.jsonl") for line in log.read_text().splitlines()]
    assert [e["sequence"] for e in events if DOMAIN in json.dumps(e)] == [0]  # the prelude
    assert DOMAIN in events[0]["preludeEvent"]["config"]["elma365:install"]


# ---------------------------------------------------------------- deploys that fail

def test_a_failing_join_prints_no_secret(new_lab):
    lab = new_lab(faults={"join_fail_once": "elma365-2"})
    values = with_secrets(lab)
    report = up_with_secret_answer(lab, values)
    stopped_at(report, "elma365-2-join", "Invalid token (500)")
    assert [t["usedBy"] for t in lab.site.state()["tokens"].values()] == ["elma365-2"]  # the spent one

    assert leaks(places(lab, report), secrets_of(lab, values)) == []


def test_a_failing_install_prints_no_secret(new_lab):
    lab = new_lab(faults={"installer_extra_question": "Send anonymous usage statistics? [y/N]: "})
    values = with_secrets(lab)
    report = up_with_secret_answer(lab, values)
    stopped_at(report, "elma365-1-install", "asked a question the site config does not answer")
    # the installer had been given the domain and the connection string before it stopped
    assert "answered: PostgreSQL connection string:" in refused(report, "elma365-1-install")

    assert leaks(places(lab, report), secrets_of(lab, values)) == []


def test_a_failing_haproxy_apply_prints_no_secret(new_lab):
    lab = new_lab()
    values = with_secrets(lab)
    # the program's check takes any 1-9 digit time; HAProxy's own check refuses one this long
    values["haproxy"]["timeouts"] = {"connect": "999999999d"}
    report = up_with_secret_answer(lab, values)
    stopped_at(report, "haproxy-config", "HAProxy rejected the new config", "timer overflow")

    assert leaks(places(lab, report), secrets_of(lab, values)) == []
