"""What every step runs is reviewed as shell: tests/golden holds the exact script of every step per
server for the example and the lab stacks and their variants (tests/golden_sites.py; `make golden`
rewrites them after a deliberate change); every kind of step the program has is among them, no
secret is, and every one of them passes shellcheck."""
from __future__ import annotations

import dataclasses
import fnmatch
import shutil
import subprocess
from typing import Any, Iterator, Mapping

import pytest

from components.render.template import PLACEHOLDER, SCRIPTS
from components.site import Secret, parse_site
from tests.golden import GOLDEN, call_of, differences, kind_of, render, step_calls
from tests.golden_sites import VARIANTS, secret_keys
from tests.sites import KEY_PASSWORD, STATS_PASSWORD, TEST_KEY, TLS_PEM

# shellcheck reads a script file with each placeholder filled by a plain word (a number, or what the
# place needs: a variable's name, a list of words): the check is of the shell around them (their
# values are quoted, or checked plain text, when the program fills them).
# A file is a part of a step's script: a variable one part sets and another reads is no finding here
# (SC2034: set but not used, SC2154: used but not set); the rendered scripts above are checked whole.
PART_EXCLUDES = "SC2034,SC2154"
DUMMY = {"var": "v", "supported_os": "a b", "ports": "1 2", "drop_in": "/d", "refreshed_mark": "/m",
         "renewed": "a b", "certs": "a:b c:d"}


def shellcheck(files: list[str], *extra: str) -> subprocess.CompletedProcess:
    return subprocess.run(["shellcheck", "-s", "bash", "-S", "warning", *extra, *files], capture_output=True, text=True)


def script_files_filled(into) -> list[str]:
    filled = []
    for path in sorted(SCRIPTS.glob("*.sh")):
        target = into / path.name
        target.write_text(PLACEHOLDER.sub(lambda m: DUMMY.get(m.group(1), "1"), path.read_text()))
        filled.append(str(target))
    return filled


def test_every_step_renders_exactly_its_golden_script():
    assert differences() == [], "a rendered script changed: review it, then `make golden`"


def golden_steps() -> set[str]:
    return {p.name.removesuffix(".golden").removesuffix(".update") for p in GOLDEN.rglob("*.golden")}


def test_every_kind_of_step_the_program_has_is_in_a_golden_file():
    """The kinds are read from the program: every call of `step` in components/ (a forced removal is
    a call of its own), and each name it makes across the sites, its node or balancer as `*`
    (haproxy-config and haproxy-config-*). Every call is made by some site, every kind is stored."""
    kinds: dict[tuple[str, int], set[str]] = {}
    for site in VARIANTS:
        for name, made_at in render(site).made_at.items():
            kinds.setdefault(call_of(made_at), set()).add(kind_of(name, site))
    calls = step_calls()
    assert calls and set(kinds) <= calls
    assert sorted(calls - set(kinds)) == [], "no site of tests/golden_sites.py makes these steps: add one"
    stored = golden_steps()
    missing = sorted(kind for made in kinds.values() for kind in made
                     if not any(fnmatch.fnmatchcase(step, kind) for step in stored))
    assert missing == [], "kinds of step no golden file holds"


def secrets_of(value: Any) -> Iterator[str]:
    """Every Secret of a parsed site (components/site.py), whatever dataclass holds it."""
    if isinstance(value, Secret):
        yield str(value)
    elif dataclasses.is_dataclass(value):
        for f in dataclasses.fields(value):
            yield from secrets_of(getattr(value, f.name))
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from secrets_of(item)
    elif isinstance(value, (tuple, list)):
        for item in value:
            yield from secrets_of(item)


def test_no_golden_file_holds_a_secret():
    """Secrets travel on stdin, which is not stored: no line of any site's secret (its PEM frames
    aside) is in a golden file: the key, its passphrase, the installer's answers, TLS, stats."""
    secrets = set()
    for variant in VARIANTS.values():
        for values in filter(None, (variant.values(), variant.previous_values())):
            for secret in secrets_of(parse_site(values, secret_keys(values))):
                secrets |= {line.strip() for line in secret.splitlines() if line.strip() and not line.startswith("-----")}
    pem_bodies = {line for pem in (TEST_KEY, TLS_PEM) for line in pem.splitlines() if not line.startswith("-----")}
    assert pem_bodies | {KEY_PASSWORD, STATS_PASSWORD} <= secrets
    found = sorted((str(p.relative_to(GOLDEN)), secret) for p in GOLDEN.rglob("*.golden") for secret in secrets
                   if secret in p.read_text())
    assert found == []


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (make test installs it)")
def test_every_rendered_script_and_every_script_file_passes_shellcheck():
    scripts = sorted(str(p) for p in GOLDEN.rglob("*.golden"))
    files = [str(p) for p in (GOLDEN.parent.parent / "tools").glob("*") if p.suffix in ("", ".sh") and p.is_file()
             and p.read_text().startswith("#!")]
    files += [str(GOLDEN.parent.parent / "lab" / "main_job.sh"), str(GOLDEN.parent.parent / "lab" / "setup.sh"),
              str(GOLDEN.parent.parent / "lab" / "bin" / "pulumi-resource-command")]
    assert len(scripts) >= 40
    done = shellcheck(scripts + files)
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (make test installs it)")
def test_every_shell_script_file_passes_shellcheck(tmp_path):
    files = script_files_filled(tmp_path)
    assert len(files) == len(list(SCRIPTS.glob("*.sh"))) > 0
    done = shellcheck(files, "-e", PART_EXCLUDES)
    assert done.returncode == 0, done.stdout[-4000:]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (make test installs it)")
def test_the_script_file_check_finds_a_fault(tmp_path):
    (tmp_path / "faulty.sh").write_text('x={{value}}\nif [ $x = 1 ]; then rm -rf "$dir"/*; fi\ncd /tmp\n')
    done = shellcheck([str(tmp_path / "faulty.sh")], "-e", PART_EXCLUDES)
    assert done.returncode != 0 and "SC2164" in done.stdout
