"""The driver's transcript of an interactive run, and its progress lines, run for real with expect
against stand-in tools: one root-only file per run, answers masked however the output arrives,
the last lines and the path on failure, the last 10 runs per tool kept."""
from __future__ import annotations

import re
import shlex
import shutil
import stat
import subprocess
import textwrap

import pytest

from components.render.answers import MASK, Reply, expect_driver, masked_texts
from components.render.install import install_command
from components.render.settings import reconfigure_command
from components.site import parse_site
from tests.sites import SECRET_KEYS, example

pytestmark = pytest.mark.skipif(shutil.which("expect") is None,
                                reason="expect is not installed (make test installs it)")

SECRET = "pg-Sup3r-Secret"
URL = f"postgres://elma365:{SECRET}@db.example.com:5432/elma365"
DOMAIN = "elma365.example.com"
REPLIES = [Reply("(?i)domain name", DOMAIN), Reply("(?i)connection string", URL), Reply("(?i)replicas", "3"),
           Reply("(?i)linkerd", "y")]


def run(tmp_path, script: str, replies=REPLIES, progress_seconds: int = 60, question_timeout: int = 2,
        transcript: str = "installer") -> subprocess.CompletedProcess:
    tool = tmp_path / "tool.sh"
    tool.write_text("#!/bin/bash\n" + textwrap.dedent(script))
    tool.chmod(0o755)
    driver = tmp_path / "driver.exp"
    driver.write_text(expect_driver(replies, tool="the installer", question_timeout=question_timeout,
                                    timeout_minutes=1, transcript=transcript, transcript_dir=str(tmp_path / "log"),
                                    progress_seconds=progress_seconds))
    return subprocess.run(["expect", "-f", str(driver), "--", str(tool)], capture_output=True, text=True,
                          env={"PATH": "/usr/bin:/bin"}, timeout=60)


def transcripts(tmp_path, name: str = "installer") -> list:
    return sorted((tmp_path / "log").glob(f"{name}-*.log"))


# answers echoed by the terminal, printed again split across writes, and once more unfinished at exit
ECHOING = """\
    read -r -p "Enter the domain name: " domain
    read -r -p "PostgreSQL connection string: " url
    read -r -p "Number of replicas: " replicas
    read -r -p "Enable Linkerd? [Y/n]: " linkerd
    for i in $(seq 1 60); do echo "installing part $i of 60"; done
    printf 'connecting to %s' "${url:0:25}"; sleep 0.3; printf '%s as %s\\n' "${url:25}" "$domain"
    printf 'password %s' "${url:19:6}"; sleep 0.3; printf '%s ok\\n' "${url:25}" | cut -d@ -f1
    echo "replicas=$replicas linkerd=$linkerd"
    printf 'error: cannot reach %s' "$url"
    exit 5
"""


def test_a_failed_run_shows_its_last_lines_masked_and_where_the_transcript_is(tmp_path):
    done = run(tmp_path, ECHOING)
    assert done.returncode == 5, done.stderr
    [path] = transcripts(tmp_path)
    text = path.read_text()
    for secret in (SECRET, URL, DOMAIN, URL[:25], URL[25:]):
        assert secret not in text and secret not in done.stderr + done.stdout, secret
    # the terminal's echo of each answer, masked; plain numbers and y/n are kept
    assert f"Enter the domain name: {MASK}\n" in text and f"PostgreSQL connection string: {MASK}\n" in text
    assert "Number of replicas: 3\n" in text and "Enable Linkerd? [Y/n]: y\n" in text
    assert f"connecting to {MASK} as {MASK}\n" in text
    assert f"error: cannot reach {MASK}\n" in text  # the unfinished last line, masked at exit
    assert re.fullmatch(r"installer-\d{8}T\d{6}\.\d{3}Z\.log", path.name)
    # the step's error: the last 40 lines of the transcript, and its path
    assert f"the last 40 lines of the transcript {path}:" in done.stderr
    shown = [line[2:] for line in done.stderr.splitlines() if line.startswith("| ")]
    assert len(shown) == 40 and shown[-1] == f"error: cannot reach {MASK}"
    assert f"password {MASK}\n" in text  # the password of a connection string, printed on its own
    assert "| installing part 25 of 60\n" in done.stderr and "| installing part 24 of 60\n" not in done.stderr
    assert done.stderr.rstrip().endswith("ERROR: the installer exited with status 5")


def test_the_transcript_is_root_only(tmp_path):
    run(tmp_path, 'read -r -p "Enter the domain name: " d\necho "done $d"\n')
    [path] = transcripts(tmp_path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert path.read_text().splitlines()[1:3] == [f"Enter the domain name: {MASK}", f"done {MASK}"]


def test_a_run_that_works_names_its_transcript_and_shows_no_lines(tmp_path):
    done = run(tmp_path, 'read -r -p "Enter the domain name: " d\necho "installed for $d"\n')
    assert done.returncode == 0, done.stderr
    [path] = transcripts(tmp_path)
    assert done.stderr.splitlines() == ["answered: Enter the domain name:", f"transcript: {path}"]
    lines = path.read_text().splitlines()
    assert lines[0].startswith("# the installer, started ") and lines[0].endswith(" UTC")
    assert lines[1:3] == [f"Enter the domain name: {MASK}", f"installed for {MASK}"]
    assert re.fullmatch(r"# finished after 0m 0\ds", lines[3])


def test_an_unanswered_question_is_the_last_line_shown(tmp_path):
    done = run(tmp_path, 'read -r -p "Enter the domain name: " d\necho "$d"\nread -r -p "Send statistics? [y/N]: " s\n',
               question_timeout=1)
    assert done.returncode == 3
    shown = [line for line in done.stderr.splitlines() if line.startswith("| ")]
    assert shown == [f"| Enter the domain name: {MASK}", f"| {MASK}", "| Send statistics? [y/N]: "]
    assert 'does not answer: "Send statistics? [y/N]:"' in done.stderr


def test_a_tool_killed_by_a_signal_fails_the_step(tmp_path):
    done = run(tmp_path, 'echo "starting"\nkill -9 $$\n')
    assert done.returncode == 1
    assert "ERROR: the installer was killed by SIGKILL" in done.stderr and "| starting" in done.stderr


def test_the_last_10_transcripts_of_a_tool_are_kept(tmp_path):
    for _ in range(12):
        assert run(tmp_path, 'echo hello\n').returncode == 0
    assert run(tmp_path, 'echo hello\n', transcript="reconfigure").returncode == 0
    kept = transcripts(tmp_path)
    assert len(kept) == 10 and len(transcripts(tmp_path, "reconfigure")) == 1
    assert all(p.read_text().splitlines()[1] == "hello" for p in kept)


def test_a_long_run_prints_progress_while_the_tool_is_silent(tmp_path):
    done = run(tmp_path, 'read -r -p "Enter the domain name: " d\necho "installing for $d"\nsleep 3.5\necho done\n',
               progress_seconds=1)
    assert done.returncode == 0, done.stderr
    progress = [line for line in done.stderr.splitlines() if "still running" in line]
    # how many lines a 3.5 s silence gets depends on the machine's load: at least one, each saying
    # the time, the question answered last and the last output (masked), the times going up
    assert progress, done.stderr
    assert re.fullmatch(r'the installer: still running after 0m 0\ds; last question answered: '
                        r'"Enter the domain name:"; last output: "installing for ' + re.escape(MASK) + '"',
                        progress[0]), progress
    elapsed = [int(re.search(r"after 0m (\d+)s", line).group(1)) for line in progress]
    assert elapsed == sorted(elapsed)
    assert DOMAIN not in done.stderr


def test_a_chatty_tool_gets_progress_lines_too(tmp_path):
    done = run(tmp_path, 'for i in $(seq 1 25); do echo "step $i"; sleep 0.1; done\n', progress_seconds=1)
    assert done.returncode == 0, done.stderr
    assert [line for line in done.stderr.splitlines() if "still running" in line], done.stderr


def test_what_is_masked():
    replies = [Reply("a", "y"), Reply("b", "No"), Reply("c", "120"), Reply("d", " 7 "), Reply("e", "s"),
               Reply("f", URL), Reply("g", DOMAIN), Reply("h", ""), Reply("i", "https://host/path")]
    assert masked_texts(replies) == [URL, DOMAIN, "https://host/path", SECRET, "s"]


@pytest.mark.skipif(shutil.which("shellcheck") is None, reason="shellcheck is not installed (make test installs it)")
def test_the_install_and_reconfigure_scripts_pass_shellcheck():
    site = parse_site(example(), SECRET_KEYS)
    taking_over = parse_site(example(adopt=True), SECRET_KEYS)
    main, sudo = site.main.name, site.ssh.needs_sudo
    for command in (install_command(main, site.install, site.adopt, sudo=sudo),
                    install_command(main, taking_over.install, taking_over.adopt, sudo=sudo),
                    reconfigure_command(main, "192.168.1.51:19001", site.scaling, site.install.datastore_backups,
                                        sudo=sudo)):
        script = shlex.split(command)[-1]
        done = subprocess.run(["shellcheck", "-s", "bash", "-"], input=script, capture_output=True, text=True,
                              timeout=60)
        assert done.returncode == 0, done.stdout + done.stderr
