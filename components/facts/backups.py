"""The datastore backups a host keeps (components/render/backups.py's folder): one read-only command
that lists them, each checked there as the program checks a backup (it opens, holds a file with data,
matches its sha256 file), with its mode and owner, and a parser to a typed value."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Optional

from ..render.backups import list_command
from ..render.shell import BACKUP_DIR, q
from ..site import Site
from .sections import host_script

LIST = f"bash -c {q(list_command())}"
BACKUP_HOST = "backup-host"   # the backup host's answer, among the hosts make verify reads


@dataclass(frozen=True)
class BackupHostLogin:
    """How the program reaches the site's backup host: a login other than root runs its commands
    under sudo there."""
    host: str
    port: int
    user: str
    folder: str
    host_key: Optional[str]

    @property
    def sudo(self) -> bool:
        return self.user != "root"


def backup_host_read(site: Site) -> Optional[BackupHostLogin]:
    """The site's backup host, if it has one, with the site's SSH settings where it sets none."""
    h = site.install.datastore_backup_host
    if h is None:
        return None
    return BackupHostLogin(h.host, h.port or site.ssh.port, h.user or site.ssh.user,
                           h.path or f"{BACKUP_DIR}/{site.main.name}", h.host_key)


def backup_host_script(site: Site, folder: str, sudo: bool) -> str:
    return host_script(site, [("backups", f"bash -c {q(list_command(folder))}")], sudo=sudo)
TAKEN = re.compile(r"^datastore-(\d{4})(\d\d)(\d\d)T(\d\d)(\d\d)(\d\d)Z\.tar\.gz$")


@dataclass(frozen=True)
class KeptBackup:
    name: str
    mtime: int
    mode: str       # octal, as stat prints it: 600
    owner: str
    verdict: str    # "ok", or why it is no good backup

    @property
    def ok(self) -> bool:
        return self.verdict == "ok"


@dataclass(frozen=True)
class KeptBackups:
    now: int
    folder: Optional[tuple[str, str]]     # (mode, owner); None: no folder
    backups: tuple[KeptBackup, ...] = ()  # oldest first


def parse_backups(text: str) -> Optional[KeptBackups]:
    """backups-list.sh's output; None when it is not that."""
    now, folder, kept = None, None, []
    for line in text.splitlines():
        words = line.split(" ", 5)
        if words[0] == "now" and len(words) == 2 and words[1].isdigit():
            now = int(words[1])
        elif words[0] == "dir" and len(words) == 3:
            folder = (words[1], words[2])
        elif len(words) >= 5 and words[0].isdigit() and words[3].startswith("datastore-"):
            kept.append(KeptBackup(words[3], int(words[0]), words[1], words[2], " ".join(words[4:])))
    if now is None:
        return None
    return KeptBackups(now, folder, tuple(kept))
