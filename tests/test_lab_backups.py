"""Datastore backups that are real, as an operator meets them: a backup that holds nothing stops a
join before anything changes; each backup is checked and copied (with its checksum, root-only) to
the other voters; `make backup` and `make restore` run against the live site; a restore brings the
datastore back. Real CLI, real SSH, the simulator's dbctl as MicroK8s' scripts/wrappers/dbctl.py."""
from __future__ import annotations

import copy
import os
import stat
from pathlib import Path

from lab.harness import Lab
from tests.lab_support import needs_lab

pytestmark = needs_lab

BACKUPS = Path("var/lib/elma365-cluster/backups")


def kept(lab: Lab, node: str) -> Path:
    return Path(lab.info["labDir"]) / "nodes" / node / BACKUPS


def archives(lab: Lab, node: str) -> list[str]:
    folder = kept(lab, node)
    return sorted(p.name for p in folder.glob("datastore-*.tar.gz")) if folder.exists() else []


def test_a_backup_that_holds_nothing_stops_the_join_before_any_change(new_lab):
    lab = new_lab(faults={"dbctl_empty_backup": True})   # MicroK8s #4308: exit 0, an empty folder archived
    report = lab.up()
    assert not report.ok
    failure = next(f for f in report.failures if f.startswith("elma365-2-add-node:"))
    said = failure.split('":\n', 1)[1]   # the step's own stderr, not the script the provider echoes
    assert "/var/lib/elma365-cluster/backups/datastore-" in said and "is no backup" in said
    assert "MicroK8s #4308" in said and "elma365:install.datastoreBackups to 0" in said
    # dbctl ran on the main node; no vendor call that changes the cluster did
    assert [e.node for e in lab.journal(with_checks=True) if e.action.startswith("dbctl backup")] == ["elma365-1"]
    assert not [e for e in lab.journal() if e.action in ("add-node", "join") or e.action.startswith(
        ("reconfigure", "update-hamode", "restart", "scale"))]
    assert archives(lab, "elma365-1") == []


def test_after_the_joins_each_backup_is_checked_and_on_the_other_voters(new_lab):
    lab = new_lab()
    report = lab.up()
    assert report.ok, report.failures
    on_main = archives(lab, "elma365-1")
    assert len(on_main) == 3   # before each of the two joins and before the HA change
    newest = on_main[-1]
    for node in ("elma365-2", "elma365-3"):
        assert newest in archives(lab, node), node
        folder = kept(lab, node)
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700 and os.stat(folder).st_uid == 0
        for name in (newest, newest + ".sha256"):
            assert stat.S_IMODE(os.stat(folder / name).st_mode) == 0o600, name
        assert (folder / (newest + ".sha256")).read_text() == (kept(lab, "elma365-1") / (newest + ".sha256")).read_text()
    assert "datastore backup " + newest + " copied to: elma365-2 elma365-3" in report.output
