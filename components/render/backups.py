"""Datastore backups that are real: `microk8s dbctl backup` checked (it must open, hold a file with
data, and not be smaller than FLOOR: MicroK8s #4308 writes an archive of an empty folder and exits 0),
a checksum beside it, copied from the main node to every other voter (and a backup host) with a key of
the main node's own, the last `keep` kept in each place; `make restore` hands one to `dbctl restore`.

Copies go host to host: a datastore backup holds the cluster's Secrets in the clear and can be
hundreds of MB, so its bytes never pass through a step's stdout or stdin (both are recorded in
Pulumi's state). The main node's key is authorized on each place only for a forced command
(BACKUP_RECEIVE) that takes a backup in; each place's host key is pinned as the place's own sshd
answers on its SSH address (read there, over the program's own pinned connection)."""
from __future__ import annotations

from typing import Sequence

from ..facts.node import datastore_members
from .shell import BACKUP_DIR, STATE_DIR, ensure_package, remote
from .template import Both, Raw, Text, fill

# The archive of an empty folder (#4308) has about 200 bytes; a real backup holds every Kubernetes
# object (tokens, certificates: data that does not compress away), megabytes on a live cluster.
FLOOR = 512
KEY_DIR = f"{STATE_DIR}/backup-ssh"          # root-only: the main node's backup key, where it copies to
BACKUP_KEY = f"{KEY_DIR}/id_ed25519"
KNOWN_HOSTS = f"{KEY_DIR}/known_hosts"
PLACES = f"{KEY_DIR}/places"
BACKUP_RECEIVE = f"{STATE_DIR}/backup-receive"   # on each place: the backup key's forced command
KEY_COMMENT = "elma365-cluster-backups@"         # + the main node's name


def backup_lib() -> str:
    """The shell functions backup_check, backup_sum_check and backup_prune."""
    return fill("backup-lib.sh", floor=FLOOR)


def datastore_backup(keep: int, before: str, leaving: str = "") -> str:
    """On the main node, before a step that changes membership or HA mode (and for `make backup`):
    `microk8s dbctl backup` (MicroK8s' scripts/wrappers/dbctl.py: a tar.gz of the dqlite datastore),
    checked, then copied to the places; the last `keep` kept. Skipped with a warning where MicroK8s
    has no dbctl, or cannot back up (it exits 10 unless the API server runs with the ha-cluster
    datastore); a backup that is no backup stops the script before anything changes. `leaving`: the
    node that leaves (or a dead one removed) after this backup gets no copy, even while the
    datastore still lists it as a voter (it may be dead, or the places may be those of the last run)."""
    if keep <= 0:
        return ""
    copy = fill("datastore-backup-copy.sh", places=PLACES, datastore_voters=Raw(datastore_members("master")),
                key=BACKUP_KEY, known_hosts=KNOWN_HOSTS, keep=int(keep), leaving=leaving)   # Raw: a filter rendered here
    return fill("datastore-backup.sh", before=Text(before), backup_lib=Raw(backup_lib()), backup_dir=BACKUP_DIR,
                keep=int(keep), copy=Raw(copy))                                # Raw: rendered here


def backup_command(keep: int, *, sudo: bool) -> str:
    """`make backup`: one backup taken, checked and copied, as before a change; nothing else."""
    return remote(datastore_backup(keep, "make backup"), sudo=sudo)


def key_command(main_name: str, *, sudo: bool) -> str:
    """On the main node: its backup key (made once), the public half printed."""
    return remote(fill("backup-key.sh", ensure_keygen=Raw(ensure_package("ssh-keygen", "openssh-client")),
                       key_dir=KEY_DIR, key=BACKUP_KEY, comment=KEY_COMMENT + main_name), sudo=sudo)


def receive_script() -> str:
    return fill("backup-receive.sh", backup_lib=Raw(backup_lib()))


def receiver_command(address: str, port: int, *, directory: str = BACKUP_DIR, sudo: bool) -> str:
    """On a place (another voter, a backup host): the main node's key (stdin) authorized for the
    forced command that takes a backup in; prints the host keys its sshd answers with on `address`."""
    # the folder is the program's (a config path of letters, digits and ._-/), never the client's
    forced = f"{'sudo -n ' if sudo else ''}{BACKUP_RECEIVE} {directory}"
    return remote(fill("backup-receiver.sh", ensure_keyscan=Raw(ensure_package("ssh-keyscan", "openssh-client")),
                       address=Both(address), port=int(port), state_dir=STATE_DIR, receive=BACKUP_RECEIVE,
                       receive_script=Raw(receive_script()), forced_command=forced), sudo=sudo)


def place_line(name: str, address: str, port: int, user: str, datastore: str = "-") -> str:
    """One place in the main node's list: `datastore` "-" for a backup host (always copied to)."""
    return f"{name} {address} {int(port)} {user} {datastore}"


def places_command(places: Sequence[str], *, sudo: bool) -> str:
    """On the main node: where its backups go (place_line each); their host keys on stdin."""
    names = " ".join(p.split()[0] for p in places) or "none"
    return remote(fill("backup-places.sh", key_dir=KEY_DIR, places=PLACES, known_hosts=KNOWN_HOSTS,
                       places_lines=list(places), names=Text(names)), sudo=sudo)


def list_command(directory: str = BACKUP_DIR) -> str:
    """`make verify`'s reading of the backups kept in `directory` (components/facts/backups.py)."""
    return fill("backups-list.sh", backup_lib=Raw(backup_lib()), dir=directory)


def restore_command(file: str, *, restore: bool, sudo: bool) -> str:
    """`make restore`: the backup `file` (a name in the backup folder, or a path) checked on the main
    node; with `restore`, checked again and restored with `microk8s dbctl restore`."""
    return remote(fill("datastore-restore.sh", backup_lib=Raw(backup_lib()), file=file, backup_dir=BACKUP_DIR,
                       mode="restore" if restore else "check"), sudo=sudo)
