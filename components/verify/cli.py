"""`make verify STACK=<name>`: a read-only check of the live site against its stack config.

    python -m components.verify --pulumi-stack <name> [--cwd DIR]          # pulumi config --show-secrets --json
    python -m components.verify --stack stacks/Pulumi.<name>.yaml --key ~/.ssh/elma365_ed25519
    python -m components.verify --values-json values.json [--key FILE]     # the elma365:* values as JSON

This module reads the config (from the Pulumi CLI, a stack file and a key file, or JSON) and runs
the parts: collect.py reads every host at once (one thread, one OpenSSH session each; only the
fact layer's read-only commands, components/facts/), checks/ compares what they answered with the
config, repairs.py names the command that repairs each drift, report.py prints one table and a
line per drift with its repair; exits 0 when everything matches, 1 on any drift, 2 when it could
not start (a bad config, no pulumi CLI).

Nothing of Pulumi is imported: it runs without an engine, a state lock or a stack update.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, Iterator, Mapping, Optional

import yaml

from .. import names
from ..site import Site, SiteConfigError, config_value, parse_site
from .checks import Row, compare
from .collect import UNREAD_STATS_PASSWORD, collect
from .repairs import Context
from .report import exit_code, report

ROOT = Path(__file__).resolve().parent.parent.parent
CONFIG_NAMESPACE = "elma365"

# Placeholders for secret leaves the stack file holds encrypted (the key-file form reads none of them):
# they satisfy the config's rules; the checks that need the real value say they were skipped. The PEM
# frames are built here, so no key-shaped text sits in the repository.
_PEM = "-----{} {}-----"
PLACEHOLDERS = {
    "haproxy.stats.password": UNREAD_STATS_PASSWORD,   # the stats page is not read with it
    "haproxy.tls.certificate": "".join(f"{_PEM.format('BEGIN', kind)}\nnot read\n{_PEM.format('END', kind)}\n"
                                       for kind in ("CERTIFICATE", "PRIVATE KEY")),
}
UNREAD = "not-read-by-verify"


class VerifyError(RuntimeError):
    """The check could not start (exit 2)."""


def project_name(root: Path = ROOT) -> str:
    try:
        return str(yaml.safe_load((root / "Pulumi.yaml").read_text())["name"])
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return "elma365-cluster"


# ------------------------------------------------------------------------------------------ config

def values_from_pulumi(stack: str, cwd: Path = ROOT, env: Optional[Mapping[str, str]] = None
                       ) -> tuple[dict[str, Any], set[str]]:
    """The stack's `elma365:*` values, secrets decrypted, through the operator's own Pulumi CLI."""
    try:
        done = subprocess.run(["pulumi", "config", "--show-secrets", "--json", "--stack", stack], cwd=cwd,
                              env=dict(env) if env is not None else None, capture_output=True, text=True, timeout=120)
    except FileNotFoundError:
        raise VerifyError("the pulumi CLI is not on PATH: use the key-file form "
                          "(--stack stacks/Pulumi.<name>.yaml --key <private key file>)") from None
    if done.returncode != 0:
        raise VerifyError(f"pulumi config --show-secrets --json --stack {stack} failed:\n{done.stderr.strip()}")
    values: dict[str, Any] = {}
    secret: set[str] = set()
    for full, entry in json.loads(done.stdout or "{}").items():
        if not full.startswith(CONFIG_NAMESPACE + ":"):
            continue
        key = full.split(":", 1)[1]
        if "objectValue" in entry:
            values[key] = entry["objectValue"]
        else:
            values[key] = config_value(entry.get("value"))
        if entry.get("secret"):
            secret.add(key)
    return values, secret


def urns_from_pulumi(stack: str, cwd: Path = ROOT, env: Optional[Mapping[str, str]] = None) -> dict[str, str]:
    """Step name -> URN as the stack holds them (`pulumi stack export`), for the repair commands;
    empty when the export cannot be read (the naming module's URNs are used then)."""
    try:
        done = subprocess.run(["pulumi", "stack", "export", "--stack", stack], cwd=cwd,
                              env=dict(env) if env is not None else None, capture_output=True, text=True, timeout=120)
        resources = json.loads(done.stdout).get("deployment", {}).get("resources") or [] if done.returncode == 0 else []
    except (OSError, ValueError, subprocess.TimeoutExpired):
        return {}
    return {r["urn"].rsplit("::", 1)[-1]: r["urn"] for r in resources
            if r.get("type") == names.COMMAND and "::" in r.get("urn", "")}


def _replace_secure(node: Any, path: str, unread: set[str]) -> Any:
    """Every `{secure: ...}` leaf becomes a placeholder; its path is remembered as unread."""
    if isinstance(node, dict):
        if set(node) == {"secure"}:
            unread.add(path)
            return PLACEHOLDERS.get(re.sub(r"\[\d+\]", "", path), UNREAD)
        return {k: _replace_secure(v, f"{path}.{k}" if path else k, unread) for k, v in node.items()}
    if isinstance(node, list):
        return [_replace_secure(v, f"{path}[{i}]", unread) for i, v in enumerate(node)]
    return node


def values_from_stack_file(stack_file: Path, key_file: Path) -> tuple[dict[str, Any], set[str], set[str]]:
    """The plain values of a stack file; the SSH key from the operator's key file. Encrypted leaves
    are not decrypted (that needs the stack's secrets provider): they are reported as unread."""
    document = yaml.safe_load(Path(stack_file).read_text()) or {}
    config = document.get("config") or {}
    unread: set[str] = set()
    values = {k.split(":", 1)[1]: _replace_secure(config_value(v), k.split(":", 1)[1], unread)
              for k, v in config.items() if k.startswith(CONFIG_NAMESPACE + ":")}
    secret = {path.split(".", 1)[0].split("[", 1)[0] for path in unread} | {"ssh"}
    values.setdefault("ssh", {})
    values["ssh"]["privateKey"] = Path(key_file).read_text()
    unread.discard("ssh.privateKey")
    return values, secret, unread


def values_from_json(path: Path, key_file: Optional[Path]) -> tuple[dict[str, Any], set[str], set[str]]:
    values = json.loads(Path(path).read_text())
    if key_file is not None:
        values.setdefault("ssh", {})["privateKey"] = Path(key_file).read_text()
    return values, set(values), set()


def stack_name_of(stack_file: Path) -> Optional[str]:
    m = re.fullmatch(r"Pulumi\.(.+)\.ya?ml", Path(stack_file).name)
    return m.group(1) if m else None


# ------------------------------------------------------------------------------------------ main

@contextlib.contextmanager
def key_file_of(site: Site, key_file: Optional[str]) -> Iterator[str]:
    """The operator's key file, or the config's key in a private temporary file while it is used."""
    if key_file is not None:
        yield key_file
        return
    with tempfile.TemporaryDirectory(prefix="elma365-verify-key.") as keydir:
        path = os.path.join(keydir, "key")
        with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as handle:
            text = str(site.ssh.private_key)
            handle.write(text if text.endswith("\n") else text + "\n")
        yield path


def verify(values: dict[str, Any], secret_keys: set[str], key_file: Optional[str], ctx: Context,
           out=sys.stdout) -> tuple[int, list[Row]]:
    """Parse the config, read every host, print the report; (exit code, rows)."""
    site = site_of(values, secret_keys)
    started = time.monotonic()
    with key_file_of(site, key_file) as key:
        hosts = collect(site, key)
    rows = compare(site, hosts, ctx)
    out.write(report(rows, time.monotonic() - started))
    out.flush()
    return exit_code(rows), rows


def add_source_arguments(parser: argparse.ArgumentParser) -> None:
    """Where the site's config comes from (make verify, make backup, make restore)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--pulumi-stack", metavar="NAME",
                        help="read the stack's config with `pulumi config --show-secrets --json` (backend login "
                             "and PULUMI_CONFIG_PASSPHRASE as for `pulumi up`)")
    source.add_argument("--stack", metavar="FILE", type=Path,
                        help="a stack file (stacks/Pulumi.<name>.yaml): its plain values, with --key")
    source.add_argument("--values-json", metavar="FILE", type=Path, help="the elma365:* values as a JSON object")
    parser.add_argument("--key", metavar="FILE", type=Path, help="the SSH private key file (with --stack: required)")
    parser.add_argument("--cwd", type=Path, default=ROOT, help="the project folder for --pulumi-stack")
    parser.add_argument("--stack-name", help="the Pulumi stack, for the repair commands (default: from the file name)")


def values_of(parser: argparse.ArgumentParser, args: argparse.Namespace
              ) -> tuple[dict[str, Any], set[str], set[str], Optional[str]]:
    """(values, their secret top-level keys, the secret leaves not read, the stack's name)."""
    if args.pulumi_stack:
        values, secret = values_from_pulumi(args.pulumi_stack, args.cwd)
        return values, secret, set(), args.stack_name or args.pulumi_stack
    if args.stack:
        if args.key is None:
            parser.error("--stack needs --key (the stack file holds the SSH key encrypted)")
        values, secret, unread = values_from_stack_file(args.stack, args.key)
        return values, secret, unread, args.stack_name or stack_name_of(args.stack)
    values, secret, unread = values_from_json(args.values_json, args.key)
    return values, secret, unread, args.stack_name


def site_of(values: dict[str, Any], secret_keys: set[str]) -> Site:
    try:
        return parse_site(values, secret_keys)
    except SiteConfigError as exc:
        raise VerifyError(str(exc).replace("nothing was changed on any server", "nothing was checked")) from None


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.verify", description=__doc__.split("\n\n")[0])
    add_source_arguments(parser)
    args = parser.parse_args(argv)
    try:
        values, secret, unread, stack = values_of(parser, args)
        urns = urns_from_pulumi(args.pulumi_stack, args.cwd) if args.pulumi_stack else {}
        ctx = Context(stack=stack, project=project_name(args.cwd if args.pulumi_stack else ROOT),
                      unread_secrets=frozenset(unread), urns=urns)
        code, _ = verify(copy.deepcopy(values), secret, str(args.key) if args.key else None, ctx)
        return code
    except (VerifyError, OSError, ValueError, yaml.YAMLError) as exc:
        print(f"make verify: {exc}", file=sys.stderr)
        return 2
