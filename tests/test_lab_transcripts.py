"""Transcripts of the vendor's interactive tools under the real Pulumi CLI, in the lab.

The installer and `elma365ctl reconfigure` leave one root-only transcript per run on the main
node (/var/log/elma365-cluster/<tool>-<UTC time>.log), with every answer that could be a secret
masked; a failing installer shows its last lines and the transcript's path in the program's error.
The secrets are looked for as tests/test_real_engine_secrets.py does, and in the transcripts too.

Each test gets a lab of its own (the lab's addresses are fixed, so one lab at a time).
"""
from __future__ import annotations

import re
import stat
from pathlib import Path

from components.render.answers import MASK, TRANSCRIPT_DIR
from tests.lab_support import needs_lab, printed, refused
from tests.test_real_engine_secrets import DOMAIN, leaks, places, secrets_of, up_with_secret_answer, with_secrets

pytestmark = needs_lab

FAILURE = "error: the installer could not reach the external PostgreSQL server (connection refused)"


def on_node(lab, node: str, path: str) -> Path:
    """A file of a node's private /var/log/elma365-cluster, as it lies on the lab's disk."""
    return Path(lab.info["labDir"]) / "nodes" / node / path.lstrip("/")


def transcripts(lab, node: str = "elma365-1") -> dict[str, list[Path]]:
    folder = on_node(lab, node, TRANSCRIPT_DIR)
    found: dict[str, list[Path]] = {}
    for path in sorted(folder.glob("*.log")):
        found.setdefault(path.name.split("-", 1)[0], []).append(path)
    return found


def assert_root_only(path: Path) -> None:
    info = path.stat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (0, 0o600), path
    folder = path.parent.stat()
    assert (folder.st_uid, stat.S_IMODE(folder.st_mode)) == (0, 0o700), path.parent


def test_a_failing_installer_shows_its_last_lines_masked_and_leaves_its_transcript(new_lab):
    lab = new_lab(faults={"installer_fail_after_questions": FAILURE})
    values = with_secrets(lab)
    report = up_with_secret_answer(lab, values)
    assert not report.ok
    failure = refused(report, "elma365-1-install")

    # the error: the installer's last 40 lines, masked, then the path of its transcript
    found = re.search(r"the last 40 lines of the transcript "
                      r"(/var/log/elma365-cluster/installer-\d{8}T\d{6}\.\d{3}Z\.log):", failure)
    assert found, report.failures
    shown = [line[2:] for line in failure.splitlines() if line.startswith("| ")]
    assert len(shown) == 40 and shown[-1] == FAILURE, shown
    assert f"Configuring the domain {MASK}" in shown
    assert f"Connecting to PostgreSQL at {MASK} ... refused" in shown  # it came in two writes
    assert "Installing ELMA365 enterprise: component 50 of 50" in shown
    assert not [line for line in shown if "Enter the domain name" in line]  # asked more than 40 lines before
    assert "ERROR: the installer exited with status 5" in failure

    # the transcript: on the main node, root-only, the whole run
    [path] = transcripts(lab)["installer"]
    assert f"{TRANSCRIPT_DIR}/{path.name}" == found.group(1)
    assert_root_only(path)
    text = path.read_text()
    assert f"Enter the domain name for ELMA365: {MASK}\n" in text           # the terminal's echo
    assert f"PostgreSQL connection string: {MASK}\n" in text
    assert "Use custom connection string? [y/N]: y\n" in text                # y/n are not masked
    assert text.count("component ") == 50 and f"{FAILURE}\n" in text

    # nothing ran after the failed install
    assert [e.action for e in lab.journal()] == ["installer"] and lab.journal()[0].rc == 5

    # no secret: not in the transcript, the error, the CLI's output, the state or the export
    where = places(lab, report)
    where["the installer's transcript"] = text
    assert leaks(where, secrets_of(lab, values)) == []


def test_a_deploy_leaves_a_masked_transcript_of_the_installer_and_of_reconfigure(new_lab):
    lab = new_lab()
    values = with_secrets(lab)
    report = up_with_secret_answer(lab, values)
    assert report.ok, report.failures

    found = transcripts(lab)
    assert sorted(found) == ["installer", "reconfigure"] and [len(v) for v in found.values()] == [1, 1]
    assert not any(transcripts(lab, node) for node in ("elma365-2", "elma365-3"))
    installer, reconfigure = found["installer"][0], found["reconfigure"][0]
    for path in (installer, reconfigure):
        assert_root_only(path)
        assert re.search(r"\n# finished after \d+m \d\ds\n$", path.read_text()), path.read_text()
    assert f"Enter the domain name for ELMA365: {MASK}\n" in installer.read_text()
    assert f"ELMA365 has been installed successfully: http://{MASK}\n" in installer.read_text()
    assert "Enable high availability mode? [y/N]: y\n" in reconfigure.read_text()
    assert "Number of replicas for system services (minimum 3): 3\n" in reconfigure.read_text()
    assert f"PostgreSQL connection string: {MASK}\n" in reconfigure.read_text()
    # each step's output names its transcript
    for path in (installer, reconfigure):
        assert f"transcript: {TRANSCRIPT_DIR}/{path.name}" in printed(report)

    where = places(lab, report)
    where.update({f"the transcript {p.name}": p.read_text() for p in (installer, reconfigure)})
    assert leaks(where, secrets_of(lab, values)) == []
    assert DOMAIN not in installer.read_text() + reconfigure.read_text()
