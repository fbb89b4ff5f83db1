"""What every step runs is reviewed as shell: tests/golden holds the exact script of every step per
server for the example and the lab stacks (`make golden` rewrites them after a deliberate change),
and every one of them passes shellcheck."""
from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.golden import GOLDEN, differences


def test_every_step_renders_exactly_its_golden_script():
    assert differences() == [], "a rendered script changed: review it, then `make golden`"


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (make test installs it)")
def test_every_rendered_script_and_every_script_file_passes_shellcheck():
    scripts = sorted(str(p) for p in GOLDEN.rglob("*.golden"))
    files = [str(p) for p in (GOLDEN.parent.parent / "tools").glob("*") if p.suffix in ("", ".sh") and p.is_file()
             and p.read_text().startswith("#!")]
    files += [str(GOLDEN.parent.parent / "lab" / "main_job.sh"), str(GOLDEN.parent.parent / "lab" / "setup.sh"),
              str(GOLDEN.parent.parent / "lab" / "bin" / "pulumi-resource-command")]
    assert len(scripts) >= 50
    done = subprocess.run(["shellcheck", "-s", "bash", "-S", "warning", *scripts, *files],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-4000:]
