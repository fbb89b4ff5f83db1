"""Datastore backups that are real, as an operator meets them: a backup that holds nothing stops a
join before anything changes; each backup is checked and copied (with its checksum, root-only) to
the other voters; `make backup` and `make restore` run against the live site; a restore brings the
datastore back. Real CLI, real SSH, the simulator's dbctl as MicroK8s' scripts/wrappers/dbctl.py."""
from __future__ import annotations

import copy
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

from lab.harness import Lab, is_check
from lab.stack import ROOT
from tests.lab_support import needs_lab, printed, stopped_at

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
    # the step's own stderr, not the script the provider echoes
    stopped_at(report, "elma365-2-add-node", "/var/lib/elma365-cluster/backups/datastore-", "is no backup",
               "MicroK8s #4308", "elma365:install.datastoreBackups to 0")
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
    assert "datastore backup " + newest + " copied to: elma365-2 elma365-3" in printed(report)

    # make verify reports each place: the count, the newest one's age, whether they verify
    report_rows = verify_rows(lab)
    assert re.fullmatch(rf"3 kept, the newest \d+ min old \({newest}\), all verify", report_rows["elma365-1"])
    # go-dqlite keeps one voter in a cluster of two (app/roles.go): elma365-2 was a spare at the second
    # join, so the backup before it stayed on the main node; both got the one before the HA change
    assert report_rows["elma365-2"].startswith("1 kept") and report_rows["elma365-2"].endswith("all verify")
    assert report_rows["elma365-3"].startswith("1 kept") and report_rows["elma365-3"].endswith("all verify")
    # a copy damaged where it is kept is a drift there, named
    with open(kept(lab, "elma365-3") / newest, "r+b") as damaged:
        damaged.seek(100)
        damaged.write(b"\0" * 16)
    found = verify_rows(lab, drift=True)["elma365-3"]
    assert f"1 do not verify: {newest}: " in found


def verify_rows(lab: Lab, drift: bool = False) -> dict[str, str]:
    """`make verify`'s "datastore backups" rows, node -> what it found (its exit status: 1 with a drift)."""
    done = subprocess.run([sys.executable, "-m", "components.verify", "--pulumi-stack", "lab", "--cwd",
                           str(lab.stack.project)], cwd=ROOT, env={**os.environ, **lab.stack.env},
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == (1 if drift else 0), done.stdout + done.stderr
    rows = {}
    for line in done.stdout.splitlines():
        m = re.match(r"^(ok|DRIFT)\s+(\S+)\s+datastore backups\s+the last .*? root\s+(.*)$", line)
        if m:
            rows[m.group(2)] = m.group(3)
    return rows


def make(lab: Lab, *args: str) -> subprocess.CompletedProcess:
    """`make <args>` as the operator runs it in the project folder, with the stack's backend and passphrase."""
    project = lab.stack.project
    for name in ("Makefile", "requirements.txt", "requirements-dev.txt", "policies"):
        if not (project / name).exists():
            (project / name).symlink_to(ROOT / name)
    return subprocess.run(["make", "--no-print-directory", *args], cwd=project, env={**os.environ, **lab.stack.env},
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=600)


def test_restore_drill_make_backup_then_make_restore_puts_the_entry_back(new_lab):
    lab = new_lab()
    assert lab.up().ok
    key = "/registry/configmaps/elma365/restore-drill"
    lab.site.put_datastore(key, "the original")

    mark = len(lab.site.journal())
    taken = make(lab, "backup", "STACK=lab")
    assert taken.returncode == 0, taken.stdout + taken.stderr
    # it took a backup, and changed nothing else
    assert all(is_check(c["argv"]) for c in lab.site.journal()[mark:])
    name = archives(lab, "elma365-1")[-1]
    assert f"datastore backup {name} copied to: elma365-2 elma365-3" in taken.stderr
    assert all(name in archives(lab, node) for node in ("elma365-2", "elma365-3"))

    lab.site.put_datastore(key, "changed after the backup")
    # without a terminal and without YES=1 nothing is restored
    refused = make(lab, "restore", "STACK=lab", f"BACKUP={name}")
    assert refused.returncode != 0 and "run it again with YES=1" in refused.stdout
    assert lab.site.datastore()[key] == "changed after the backup"

    mark = len(lab.site.journal())
    restored = make(lab, "restore", "STACK=lab", f"BACKUP={name}", "YES=1")
    assert restored.returncode == 0, restored.stdout + restored.stderr
    when = re.match(r"datastore-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z", name).groups()
    assert (f"Restore the datastore of site lab (main node elma365-1) from /var/lib/elma365-cluster/backups/{name},\n"
            f"taken {'-'.join(when[:3])} {':'.join(when[3:])} UTC") in restored.stdout
    assert "make verify STACK=lab" in restored.stdout
    assert [(c["node"], c["argv"][1:]) for c in lab.site.journal()[mark:] if not is_check(c["argv"])] == [
        ("elma365-1", ["dbctl", "restore", f"/var/lib/elma365-cluster/backups/{name}"])]
    assert lab.site.datastore()[key] == "the original"


def test_restore_refuses_an_archive_that_is_no_backup(new_lab):
    lab = new_lab()
    assert lab.up().ok
    folder = kept(lab, "elma365-1")
    (folder / "datastore-20260101T000000Z.tar.gz").write_bytes(b"not a tar archive" * 64)
    mark = len(lab.site.journal())
    refused = make(lab, "restore", "STACK=lab", "BACKUP=datastore-20260101T000000Z.tar.gz", "YES=1")
    assert refused.returncode != 0
    assert "datastore-20260101T000000Z.tar.gz is no datastore backup: tar -tzf cannot read it; nothing was restored" \
        in refused.stderr
    assert not [c for c in lab.site.journal()[mark:] if c["argv"][1:3] == ["dbctl", "restore"]]


def test_a_backup_host_gets_a_copy_of_each_backup_in_its_folder(new_lab):
    lab = new_lab()
    values = copy.deepcopy(lab.values)
    host = lab.info["haproxy"]   # the lab's HAProxy host stands in for a backup host: an sshd of its own
    values["install"]["datastoreBackups"] = 2
    values["install"]["datastoreBackupHost"] = {"host": host["address"], "port": host["port"], "user": "root",
                                                "hostKey": host["hostKey"], "path": "/var/lib/elma365-cluster/backups/lab"}
    report = lab.up(values)
    assert report.ok, report.failures
    on_main = archives(lab, "elma365-1")
    assert len(on_main) == 2   # the last 2 kept, here and there
    folder = Path(lab.info["labDir"]) / "nodes" / "haproxy" / "var/lib/elma365-cluster/backups/lab"
    assert sorted(p.name for p in folder.glob("datastore-*.tar.gz")) == on_main
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert all(stat.S_IMODE(os.stat(folder / f"{n}.sha256").st_mode) == 0o600 for n in on_main)
    # the main node's key takes backups in, and nothing else
    key = Path(lab.info["labDir"]) / "nodes" / "elma365-1" / "var/lib/elma365-cluster/backup-ssh/id_ed25519"
    shell = subprocess.run(["ssh", "-F", "/dev/null", "-i", str(key), "-p", str(host["port"]), "-o", "BatchMode=yes",
                            "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                            f"root@{host['address']}", "id"], capture_output=True, text=True, timeout=60)
    assert shell.returncode == 2 and "this key only copies a datastore backup in" in shell.stderr
    # make verify reads it too
    assert re.fullmatch(r"2 kept, the newest \d+ min old \(datastore-\S+\), all verify", verify_rows(lab)[host["address"]])
