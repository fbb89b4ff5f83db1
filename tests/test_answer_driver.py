"""The expect driver, run for real against a stand-in interactive tool on this machine."""
from __future__ import annotations

import shutil
import subprocess
import textwrap

import pytest

from components.render.answers import Reply, expect_driver

pytestmark = pytest.mark.skipif(shutil.which("expect") is None, reason="expect is not installed (make test installs it)")

TOOL = textwrap.dedent("""\
    #!/bin/bash
    [ -t 0 ] || { echo "needs a terminal" >&2; exit 9; }
    echo "Preparing..."
    read -r -p "Enter the domain name for ELMA365: " domain
    read -r -p "Use custom connection string? [y/N]: " custom
    if [ "$custom" = y ]; then read -r -s -p "PostgreSQL connection string: " pg; echo; fi
    [ -n "${EXTRA:-}" ] && read -r -p "$EXTRA" extra
    echo "domain=$domain custom=$custom pglen=${#pg}" > "$OUT"
    """)


def run_driver(tmp_path, replies, extra=""):
    tool = tmp_path / "tool.sh"
    tool.write_text(TOOL)
    tool.chmod(0o755)
    driver = tmp_path / "driver.exp"
    driver.write_text(expect_driver(replies, tool="the installer", question_timeout=1, timeout_minutes=1,
                                    transcript_dir=str(tmp_path / "log")))
    out = tmp_path / "out"
    env = {"PATH": "/usr/bin:/bin", "OUT": str(out), "EXTRA": extra}
    result = subprocess.run(["expect", "-f", str(driver), "--", str(tool)], capture_output=True, text=True,
                            env=env, timeout=30)
    return result, (out.read_text() if out.exists() else "")


REPLIES = [Reply("(?i)domain name", "elma365.example.com"), Reply("(?i)use custom connection string", "y"),
           Reply("(?i)postgresql connection string", "postgres://u:S3cret@db/e")]


def test_questions_are_answered_in_whatever_order_they_come(tmp_path):
    result, out = run_driver(tmp_path, list(reversed(REPLIES)))
    assert result.returncode == 0, result.stderr
    assert out == "domain=elma365.example.com custom=y pglen=24\n"


def test_answers_are_never_printed(tmp_path):
    result, _ = run_driver(tmp_path, REPLIES)
    assert "S3cret" not in result.stdout + result.stderr
    assert "answered: PostgreSQL connection string:" in result.stderr


def test_an_unexpected_question_fails_with_its_text_and_does_not_hang(tmp_path):
    result, out = run_driver(tmp_path, REPLIES, extra="Send anonymous usage statistics? [y/N]: ")
    assert result.returncode == 3
    assert 'asked a question the site config does not answer: "Send anonymous usage statistics? [y/N]:"' in result.stderr
    assert out == ""


def test_the_tool_failing_fails_the_step(tmp_path):
    result, _ = run_driver(tmp_path, REPLIES[:1] + [Reply("(?i)use custom", "n")], extra="")
    assert result.returncode == 0
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/bash\necho broken >&2\nexit 7\n")
    driver = tmp_path / "driver.exp"
    result = subprocess.run(["expect", "-f", str(driver), "--", str(tool)], capture_output=True, text=True, timeout=30)
    assert result.returncode == 7
    assert "the installer exited with status 7" in result.stderr


def test_an_empty_answer_is_an_empty_line_for_its_own_question(tmp_path):
    # an empty answer (accept the tool's default) must not shift the answers after it
    replies = [Reply("(?i)domain name", ""), Reply("(?i)use custom connection string", "y"),
               Reply("(?i)postgresql connection string", "postgres://u:S3cret@db/e")]
    result, out = run_driver(tmp_path, replies)
    assert result.returncode == 0, result.stderr
    assert out == "domain= custom=y pglen=24\n"
