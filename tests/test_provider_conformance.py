"""The lab's stand-in provider (lab/command_provider.py) against pulumi-command 1.2.1 itself.

Skipped unless ELMA365_COMMAND_PROVIDER names the real `pulumi-resource-command` (docs/dev/lab.md,
"Which toolchain"). The same small program (tests/conformance/program: one remote.Command per
entry of its config) runs the same sequence of operations twice on a one-node lab, once with each
provider installed in its stack's PULUMI_HOME, and everything the engine records and shows is
compared:

- what a policy sees (tests/conformance/pack: a resource policy gets a step's inputs, a stack
  policy its outputs; "<unknown>" where reading raises UnknownValueError) in a preview and an up;
- the engine's event log: every step's op, its old and new inputs and outputs, diffs, replaces,
  and each diagnostic (severity, ephemeral or not, message), per step in the order it came;
- the state (`pulumi stack export --show-secrets`): each step's id (its form), inputs, outputs and
  which of them are secret;
- whether the run failed.

The operations: a preview of a fresh stack (a create whose stdin is another step's stdout, plain
and secret), an up that creates, one that changes nothing, a preview and an up of an update (with
and without an `update` command) and of changed triggers (a replace), an up where one command
fails with output, another's host refuses the connection, a third sets an environment variable,
and three go through a bastion (the lab host itself: refusing, unable to reach the target, working),
a refresh, and a destroy (delete commands run). Along the way: secret stdin, logging
none and stderr, a secret output, addPreviousOutputInEnv false, ignoreChanges, and environment
(which the lab's sshd refuses). A difference is listed as
"<operation>: <what>: <path>: real <value> / stand-in <value>".
"""
from __future__ import annotations

import json
import os
import re
from pathlib import Path
from typing import Any, Optional

import pytest
import yaml

from lab import toolchain
from lab.stack import PulumiStack, read_events
from tests.lab_support import needs_lab

REAL = toolchain.given_provider()
pytestmark = [
    pytest.mark.skipif(REAL is None, reason=f"{toolchain.PROVIDER_VARIABLE} is not set: there is no real "
                                            "pulumi-command provider to compare the stand-in with"),
    needs_lab,
]

HERE = Path(__file__).resolve().parent / "conformance"
COMMAND = "command:remote:Command"
SECRET_SIG = "4dabf18193072939515e22adb298388d"
CLOSED_PORT = 2299  # nothing listens there on the lab's addresses

A = {"name": "a", "create": "echo hello; sleep 0.2; echo warning >&2"}
B = {"name": "b", "stdinFrom": "a", "stdinPrefix": "plain:", "create": "cat"}
C = {"name": "c", "stdinFrom": "a", "secretStdin": True, "create": "cat >/dev/null; echo got-secret"}
D = {"name": "d", "stdin": "s3cret-stdin", "secretStdin": True, "create": "wc -c"}
T = {"name": "t", "triggers": [1], "create": "echo t"}
R = {"name": "r", "triggers": [1], "create": "echo r"}   # its triggers dropped later: a replace
U = {"name": "u", "create": "echo u-create", "update": "echo u-update v1", "delete": "echo u-delete"}
Q = {"name": "q", "logging": "none", "secretOutputs": ["stdout"], "create": "echo quiet"}
P = {"name": "p", "addPreviousOutputInEnv": False, "logging": "stderr", "create": "echo p; echo p-err >&2"}
I = {"name": "i", "ignoreChanges": ["create"], "create": "echo once"}
FIRST = [A, B, C, D, T, R, U, Q, P, I]
SECOND = [{**A, "create": "echo hello again; sleep 0.2; echo warning >&2"}, B, C, D, {**T, "triggers": [2]},
          {k: v for k, v in R.items() if k != "triggers"},
          {**U, "update": "echo u-update v2"}, Q, {**P, "create": "echo p2; echo p2-err >&2"},
          {**I, "create": "echo twice"}]
BROKEN = [*SECOND,
          # apart in time: which of two writes at once reaches the client first is up to the server's sshd
          {"name": "f", "create": "echo out-line; sleep 0.2; echo err-line >&2; exit 3"},
          {"name": "n", "port": CLOSED_PORT, "dialErrorLimit": 3, "create": "echo never"},
          {"name": "e", "environment": {"LAB_VALUE": "1"}, "create": "echo env"},
          {"name": "x", "proxy": {"port": CLOSED_PORT, "dialErrorLimit": 2}, "dialErrorLimit": 2, "create": "echo x"},
          {"name": "y", "proxy": {"dialErrorLimit": 2}, "port": CLOSED_PORT, "dialErrorLimit": 2, "create": "echo y"},
          {"name": "z", "proxy": {}, "create": "echo through the bastion"}]
OPERATIONS = [  # (name, verb, commands)
    ("preview of a fresh stack", "preview", FIRST),
    ("up: create", "up", FIRST),
    ("up: nothing changed", "up", FIRST),
    ("preview of an update and a replace", "preview", SECOND),
    ("up: update and replace", "up", SECOND),
    ("refresh", "refresh", SECOND),
    ("up: a failing command and an unreachable host", "up", BROKEN),
    ("destroy", "destroy", BROKEN),
]


# ---------------------------------------------------------------- one run of the operations

def new_stack(workdir: Path, provider: Path, site: dict[str, Any], key: str) -> PulumiStack:
    project = workdir / "project"
    pack = workdir / "pack"
    for folder, files in ((project, ("Pulumi.yaml", "__main__.py")), (pack, ("PulumiPolicy.yaml", "__main__.py"))):
        folder.mkdir(parents=True, exist_ok=True)
        for name in files:
            (folder / name).symlink_to(HERE / folder.name.replace("project", "program") / name)
        (folder / ".venv").symlink_to(toolchain.ROOT / ".venv")
    stack = PulumiStack(workdir, "conformance", source=HERE / "program", files=(), provider=provider)
    stack.init()
    stack.pulumi("config", "set", "--secret", "conformance:privateKey", "--stack", stack.stack, stdin=key)
    stack.env["CONFORMANCE_SEEN"] = str(workdir / "seen.jsonl")
    if os.environ.get("CONFORMANCE_DEBUG_GRPC"):  # every gRPC call of the run, for looking into a difference
        stack.env["PULUMI_DEBUG_GRPC"] = str(workdir / "grpc.jsonl")
    stack.site = site  # type: ignore[attr-defined]
    return stack


def configure(stack: PulumiStack, commands: list[dict[str, Any]]) -> None:
    document = yaml.safe_load(stack.config_file.read_text())
    document["config"]["conformance:site"] = stack.site  # type: ignore[attr-defined]
    document["config"]["conformance:commands"] = commands
    stack.config_file.write_text(yaml.safe_dump(document, sort_keys=False))


def run_all(workdir: Path, provider: Path, site: dict[str, Any], key: str) -> dict[str, dict[str, Any]]:
    stack = new_stack(workdir, provider, site, key)
    seen_file = workdir / "seen.jsonl"
    results = {}
    for name, verb, commands in OPERATIONS:
        configure(stack, commands)
        seen_file.unlink(missing_ok=True)
        pack = ["--policy-pack", str(workdir / "pack")] if verb in ("preview", "up") else []
        report = {"preview": stack.preview, "up": stack.up, "refresh": stack.refresh,
                  "destroy": stack.destroy}[verb](extra=pack)
        events = read_events(stack.workdir / f"events-{stack.runs}.jsonl")
        seen = sorted(seen_file.read_text().splitlines()) if seen_file.exists() else []
        results[name] = {
            "failed": not report.ok,
            "policies see": [json.loads(line) for line in seen],
            "event log": event_log(events),
            "state": state(stack),
        }
    text = json.dumps(results, indent=1, sort_keys=True).replace(str(workdir), "<workdir>")
    (workdir / "results.json").write_text(text)
    return json.loads(text)


# ---------------------------------------------------------------- what is compared, without what differs by nature

def step_id(name: str, value: Any) -> Any:
    """An id's form: `<name>` followed by 8 hex digits is what pulumi-command makes (resource.NewUniqueHex);
    the engine gives a provider a random UUID."""
    if isinstance(value, str) and re.fullmatch(re.escape(name) + "[0-9a-f]{8}", value):
        return f"{name}<8 hex digits>"
    if isinstance(value, str) and re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", value):
        return "<uuid>"
    return value


def plain_state(value: Any) -> Any:
    """Export values: a secret as {"<secret>": its value}."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) and "plaintext" in value:
            return {"<secret>": plain_state(json.loads(value["plaintext"]))}
        return {k: plain_state(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain_state(v) for v in value]
    return value


def state(stack: PulumiStack) -> dict[str, Any]:
    exported = stack.export(show_secrets=True)
    found = {}
    for res in exported["deployment"].get("resources") or []:
        if res["type"] not in (COMMAND, "pulumi:providers:command"):
            continue
        name = res["urn"].rsplit("::", 1)[-1]
        found[name] = {"id": step_id(name, res.get("id")), "inputs": plain_state(res.get("inputs")),
                       "outputs": plain_state(res.get("outputs")),
                       "additionalSecretOutputs": res.get("additionalSecretOutputs"),
                       "pending": [op["type"] for op in exported["deployment"].get("pending_operations") or []
                                   if op["resource"]["urn"] == res["urn"]]}
    return found


def step_view(name: str, view: Optional[dict[str, Any]]) -> Any:
    if not view:
        return view
    return {"id": step_id(name, view.get("id")), "inputs": view.get("inputs"), "outputs": view.get("outputs")}


def event_log(events: list[dict[str, Any]]) -> dict[str, list[Any]]:
    """Per step (and "(run)" for what names none), what the engine recorded, in order."""
    found: dict[str, list[Any]] = {}
    for event in events:
        kind = next((k for k in event if k.endswith("Event")), None)
        body = event.get(kind) if kind else None
        if kind in ("resourcePreEvent", "resOutputsEvent", "resOpFailedEvent"):
            meta = body["metadata"]
            if meta.get("type") != COMMAND:
                continue
            name = meta["urn"].rsplit("::", 1)[-1]
            found.setdefault(name, []).append({
                "event": kind, "op": meta.get("op"), "keys": meta.get("keys"), "diffs": meta.get("diffs"),
                "detailedDiff": meta.get("detailedDiff"), "old": step_view(name, meta.get("old")),
                "new": step_view(name, meta.get("new")), **({"status": body.get("status")} if "status" in body else {})})
        elif kind == "diagnosticEvent" and body.get("severity") != "debug":
            name = (body.get("urn") or "").rsplit("::", 1)[-1] or "(run)"
            if body.get("urn") and f"::{COMMAND}::" not in body["urn"]:
                continue
            if name == "(run)" and (body.get("severity") not in ("error", "warning")
                                    or "Resource monitor has terminated" in body.get("message", "")):
                continue  # the program's own words as the engine stops it, as far as it got: a matter of timing
            found.setdefault(name, []).append({"event": kind, "severity": body.get("severity"),
                                               "ephemeral": bool(body.get("ephemeral")),
                                               "message": body.get("message")})
    return found


def differences(real: Any, stand_in: Any, path: str = "") -> list[str]:
    if isinstance(real, dict) and isinstance(stand_in, dict):
        found = []
        for key in sorted(set(real) | set(stand_in), key=str):
            found += differences(real.get(key, "<absent>"), stand_in.get(key, "<absent>"), f"{path}.{key}")
        return found
    if isinstance(real, list) and isinstance(stand_in, list) and len(real) == len(stand_in):
        found = []
        for i, (x, y) in enumerate(zip(real, stand_in)):
            found += differences(x, y, f"{path}[{i}]")
        return found
    return [] if real == stand_in else [f"{path.lstrip('.')}: real {real!r} / stand-in {stand_in!r}"]


# ---------------------------------------------------------------- the test

@pytest.fixture(scope="module")
def lab_host(tmp_path_factory):
    from lab.site import LabSite

    directory = tmp_path_factory.mktemp("conformance-lab")
    site = LabSite(str(directory))
    info = site.up(nodes=1, haproxy=False)
    try:
        node = info["nodes"][0]
        yield {"host": node["address"], "port": node["port"], "hostKey": node["hostKey"]}, \
            Path(info["privateKeyPath"]).read_text()
    finally:
        site.down()


def test_the_stand_in_records_and_shows_what_pulumi_command_does(lab_host, tmp_path):
    site, key = lab_host
    real = run_all(tmp_path / "real", REAL, site, key)
    stand_in = run_all(tmp_path / "stand-in", toolchain.STAND_IN_PROVIDER, site, key)
    found = [f"{operation}: {line}" for operation in real
             for line in differences(real[operation], stand_in[operation])]
    assert found == [], "\n".join(found)
    # the operations did what they are meant to, so that the comparison covers them
    assert [real[o]["failed"] for o, _, _ in OPERATIONS] == [False] * 6 + [True, False]
    assert real["up: update and replace"]["state"]["t"] != real["up: create"]["state"]["t"]
    assert real["up: update and replace"]["state"]["r"] != real["up: create"]["state"]["r"]
