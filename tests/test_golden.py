"""What every step runs is reviewed as shell: tests/golden holds the exact script of every step per
server for the example and the lab stacks (`make golden` rewrites them after a deliberate change),
and every one of them passes shellcheck."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from components.render.template import PLACEHOLDER, SCRIPTS
from tests.golden import GOLDEN, differences

# shellcheck reads a script file with each placeholder filled by a plain word (a number, or what the
# place needs: a variable's name, a list of words): the check is of the shell around them (their
# values are quoted, or checked plain text, when the program fills them).
# A file is a part of a step's script: a variable one part sets and another reads is no finding here
# (SC2034: set but not used, SC2154: used but not set); the rendered scripts above are checked whole.
PART_EXCLUDES = "SC2034,SC2154"
DUMMY = {"var": "v", "supported_os": "a b", "ports": "1 2", "drop_in": "/d"}


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
