"""Datastore backups as the program renders them, run here on real archives: what counts as a backup
(MicroK8s #4308's archive of an empty folder does not), what a place takes in over the main node's
key and what it refuses, the retention, and how the steps are wired and configured."""
from __future__ import annotations

import hashlib
import os
import secrets
import shlex
import stat
import subprocess
import tarfile
from pathlib import Path

import pytest

from components.render import backups
from tests.mock_runtime import run_program
from tests.sites import SECRET_KEYS, cluster_outputs, example

needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="a place's folder is root's")
NAME = "datastore-20261205T101500Z.tar.gz"


def archive(folder: Path, name: str = NAME, files: dict[str, bytes] | None = None) -> Path:
    """An archive as `microk8s dbctl backup -o` writes it: one folder named after it, its files inside."""
    inner = folder / "src" / name.removesuffix(".tar.gz")
    inner.mkdir(parents=True, exist_ok=True)
    for file, data in (files or {}).items():
        (inner / file).write_bytes(data)
    path = folder / name
    with tarfile.open(path, "w:gz") as tar:
        tar.add(inner, arcname=inner.name)
    return path


def real(folder: Path, name: str = NAME) -> Path:
    return archive(folder, name, {"kine.json": secrets.token_hex(1024).encode()})


def lib(call: str) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", backups.backup_lib() + "\n" + call], capture_output=True, text=True, timeout=60)


def test_a_backup_with_data_passes(tmp_path):
    done = lib(f"backup_check {real(tmp_path)}")
    assert done.returncode == 0 and done.stdout == ""


def test_the_archive_of_an_empty_folder_from_4308_is_no_backup(tmp_path):
    empty = archive(tmp_path)
    assert empty.stat().st_size < backups.FLOOR   # about 200 bytes, as #4308 reports
    done = lib(f"backup_check {empty}")
    assert done.returncode == 1 and done.stdout.startswith(f"it has {empty.stat().st_size} bytes, fewer than 512")


def test_an_archive_of_empty_files_over_the_floor_is_no_backup(tmp_path):
    names = {secrets.token_hex(40): b"" for _ in range(20)}   # names that do not compress: over the floor
    hollow = archive(tmp_path, files=names)
    assert hollow.stat().st_size >= backups.FLOOR
    done = lib(f"backup_check {hollow}")
    assert done.returncode == 1 and done.stdout.strip() == "it holds no file with data (an empty datastore folder)"


def test_a_file_that_is_not_a_tar_gz_is_no_backup(tmp_path):
    junk = tmp_path / NAME
    junk.write_bytes(secrets.token_bytes(4096))
    done = lib(f"backup_check {junk}")
    assert done.returncode == 1 and done.stdout.strip() == "tar -tzf cannot read it"


def test_the_checksum_file_must_name_the_archives_sha256(tmp_path):
    path = real(tmp_path)
    Path(f"{path}.sha256").write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {NAME}\n")
    assert lib(f"backup_sum_check {path}").returncode == 0
    Path(f"{path}.sha256").write_text(f"{'0' * 64}  {NAME}\n")
    done = lib(f"backup_sum_check {path}")
    assert done.returncode == 1 and f"not {'0' * 64} as {path}.sha256 says" in done.stdout


def test_retention_keeps_the_newest_with_their_checksum_files(tmp_path):
    names = [f"datastore-2026120{d}T000000Z.tar.gz" for d in range(1, 6)]
    for name in names:
        (tmp_path / name).write_bytes(b"x")
        (tmp_path / f"{name}.sha256").write_text("x")
    assert lib(f"backup_prune {tmp_path} 2").returncode == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*names[-2:], *(f"{n}.sha256" for n in names[-2:])])


# ------------------------------------------------------------------------------ a place's forced command

def receive(folder: Path, request: str, data: bytes) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", backups.receive_script(), "backup-receive", str(folder), request],
                          input=data, capture_output=True, timeout=60)


@needs_root
def test_a_place_takes_a_backup_in_root_only_with_its_checksum(tmp_path):
    data = real(tmp_path / "main").read_bytes()
    sum_ = hashlib.sha256(data).hexdigest()
    place = tmp_path / "place"
    done = receive(place, f"put {NAME} {sum_} 5", data)
    assert done.returncode == 0, done.stderr
    assert (place / NAME).read_bytes() == data
    assert (place / f"{NAME}.sha256").read_text() == f"{sum_}  {NAME}\n"
    assert stat.S_IMODE(place.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in place.iterdir()} == {0o600}


@needs_root
def test_a_place_refuses_a_backup_that_arrived_damaged_and_keeps_nothing_of_it(tmp_path):
    data = real(tmp_path / "main").read_bytes()
    place = tmp_path / "place"
    done = receive(place, f"put {NAME} {hashlib.sha256(data).hexdigest()} 5", data[:-10])
    assert done.returncode == 1 and b"arrived on" in done.stderr and b"with sha256" in done.stderr
    assert list(place.iterdir()) == []


@needs_root
@pytest.mark.parametrize("request_", ["id", f"put ../{NAME} {'0' * 64} 5", f"put {NAME} {'0' * 64} 5 extra",
                                      f"put {NAME} $(id) 5", "put x.tar.gz 00 1"])
def test_the_backup_key_does_nothing_but_take_a_backup_in(tmp_path, request_):
    done = receive(tmp_path / "place", request_, b"")
    assert done.returncode == 2 and b"this key only copies a datastore backup in" in done.stderr
    assert not (tmp_path / "place").exists()


# ------------------------------------------------------------------------------ the steps

def test_the_backup_places_are_ready_before_any_step_that_takes_a_backup():
    run = run_program(example(), SECRET_KEYS, mocks=cluster_outputs())
    places = run.command("elma365-1-backup-places")
    # elma365-2 and elma365-3: SSH address, port, login, and how the datastore lists them
    assert "'elma365-2 192.168.1.52 22 root 192.168.1.52:19001' 'elma365-3 192.168.1.53 22 root 192.168.1.53:19001'" \
        in shlex.split(places.inputs["create"])[-1]
    for node in ("elma365-2", "elma365-3"):
        assert run.depends(f"{node}-backup-receiver", on="elma365-1-backup-key")
        assert run.depends("elma365-1-backup-places", on=f"{node}-backup-receiver")
    for step in ("elma365-2-add-node", "reconfigure"):
        assert run.reaches(step, on="elma365-1-backup-places"), step


def test_no_backup_no_key_and_no_place():
    values = example()
    values["install"]["datastoreBackups"] = 0
    run = run_program(values, SECRET_KEYS, mocks=cluster_outputs())
    assert not [c.name for c in run.commands if "backup-" in c.name]
    assert "dbctl" not in run.command("elma365-2-add-node").inputs["create"]


def test_the_forced_command_binds_the_places_folder_and_sudo():
    create = backups.receiver_command("10.0.0.9", 22, directory="/srv/backups/site-a", sudo=True)
    assert "sudo -n /var/lib/elma365-cluster/backup-receive /srv/backups/site-a" in create
    assert "restrict,command=" in create
    assert "/var/lib/elma365-cluster/backup-receive /var/lib/elma365-cluster/backups'" in \
        backups.receiver_command("10.0.0.9", 22, sudo=False)


def test_a_node_that_leaves_gets_no_copy_of_the_backup_taken_before_it_leaves():
    """A dead node is still a voter when the backup before its forced removal is taken: no copy is
    sent there, whatever the places were in the last run."""
    from components.render.departure import drain_command, remove_node_command
    from components.site import Node
    dead = Node(name="elma365-4", address="192.168.1.54", cluster_address="192.168.1.54")
    main = Node(name="elma365-1", address="192.168.1.51", cluster_address="192.168.1.51")
    for create in (remove_node_command(dead, main, 5, sudo=False, force=True), drain_command(dead, "elma365-1", 5, sudo=False)):
        assert "leaving=elma365-4\n" in shlex.split(create)[-1]
    from components.render.join import add_node_command
    assert "leaving=''\n" in shlex.split(add_node_command(dead, main, 5, sudo=False))[-1]


# ------------------------------------------------------------------------------ make verify's reading

def test_verify_reads_each_backup_its_place_checked():
    from components.facts.backups import parse_backups
    from components.verify.checks.backups import describe
    listing = ("now 1765000000\ndir 700 root\n"
               "1764996400 600 root datastore-20261205T081500Z.tar.gz ok\n"
               "1764999400 600 root datastore-20261205T091500Z.tar.gz sha256 ab, not cd as x.sha256 says\n")
    kept = parse_backups(listing)
    assert [b.ok for b in kept.backups] == [True, False]
    found, ok = describe(kept)
    assert not ok and found.startswith("2 kept, the newest 10 min old (datastore-20261205T091500Z.tar.gz), "
                                       "1 do not verify: datastore-20261205T091500Z.tar.gz: sha256 ab, not cd")
    loose = parse_backups(listing.replace("dir 700 root", "dir 755 root").replace(" sha256 ab, not cd as x.sha256 says", " ok"))
    found, ok = describe(loose)
    assert not ok and found.endswith("all verify; not root's alone (folder 755 root, 0 file(s) not 600 root)")
    found, ok = describe(parse_backups("now 1765000000\ndir none\n"))
    assert ok and found.startswith("none yet")
    assert parse_backups("bash: tar: command not found") is None


def test_the_listing_runs_here_and_changes_nothing(tmp_path):
    path = real(tmp_path)
    Path(f"{path}.sha256").write_text(f"{hashlib.sha256(path.read_bytes()).hexdigest()}  {NAME}\n")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    done = subprocess.run(["bash", "-c", backups.list_command(str(tmp_path))], capture_output=True, text=True, timeout=60)
    from components.facts.backups import parse_backups
    kept = parse_backups(done.stdout)
    assert [(b.name, b.verdict) for b in kept.backups] == [(NAME, "ok")]
    assert sorted((p.name, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before
