"""The datastore backups, in each place the program keeps them: the main node, every other voter and
the backup host (components/render/backups.py): how many, the newest one's age, whether each
verifies there (it opens, holds a file with data, matches its sha256 file), and that they are
root's alone."""
from __future__ import annotations

from typing import Optional

from ...facts.backups import BACKUP_HOST, KeptBackups, backup_host_read, parse_backups
from ...facts.node import datastore_address
from ...facts.sections import Section, last_line
from ...render.shell import BACKUP_DIR
from ..repairs import manual
from .base import Checks

CHECK = "datastore backups"


def age(seconds: int) -> str:
    minutes = max(seconds, 0) // 60
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60} min"
    return f"{minutes // (24 * 60)} days"


def describe(kept: KeptBackups) -> tuple[str, bool]:
    """(what is found, whether it is as it should be)."""
    if not kept.backups:
        # backups are taken before changes: a site not changed since it was deployed or taken over
        # (or a voter that joined after the last one) has none yet, as the config has it
        return "none yet (one is taken before each change, or by make backup)", True
    bad = [b for b in kept.backups if not b.ok]
    loose = [b.name for b in kept.backups if b.mode != "600" or b.owner != "root"]
    folder_ok = kept.folder == ("700", "root")
    newest = kept.backups[-1]
    found = f"{len(kept.backups)} kept, the newest {age(kept.now - newest.mtime)} old ({newest.name}), "
    found += "all verify" if not bad else f"{len(bad)} do not verify: " + "; ".join(f"{b.name}: {b.verdict}" for b in bad)
    if loose or not folder_ok:
        found += f"; not root's alone (folder {' '.join(kept.folder or ('-', '-'))}, {len(loose)} file(s) not 600 root)"
    return found, not bad and not loose and folder_ok


def backups(c: Checks) -> None:
    keep = c.site.install.datastore_backups
    if keep <= 0:
        return
    main_status = c.node_status.get(c.main.name)
    voters = set(main_status.masters) if main_status is not None else set()
    for node in c.active:
        s = c.section(node.name, "backups")
        if s is not None:   # else unreachable: said by its reachability row
            place = node == c.main or datastore_address(node) in voters
            _place(c, node.name, BACKUP_DIR, s, place)
    backup_host = backup_host_read(c.site)
    if backup_host:
        host, folder = backup_host.host, backup_host.folder
        out = c.hosts.get(BACKUP_HOST)
        if out is None or not out.reachable:
            c.add(host, CHECK, f"the last {keep} in {folder}", f"unreachable ({out.error if out else 'not read'})",
                  False, manual(f"bring the backup host {host} back (ssh), then `make backup STACK={c.ctx.stack or '<name>'}`"))
        else:
            _place(c, host, folder, out.sections.get("backups"), True)


def _place(c: Checks, where: str, folder: str, s: Optional[Section], place: bool) -> None:
    expected = f"the last {c.site.install.datastore_backups} in {folder}, each verifies; 0600 files, 0700 folder, root"
    kept = parse_backups(s.out) if s is not None else None
    if kept is None:
        c.add(where, CHECK, expected, f"not checked: {last_line(s)}", None)
        return
    if not place and not kept.backups:
        c.add(where, CHECK, "none: not a datastore voter", "none", True)
        return
    found, ok = describe(kept)
    if any(not b.ok for b in kept.backups):
        repair = manual(f"on {where}, move the backups that do not verify out of {folder}, "
                        f"then `make backup STACK={c.ctx.stack or '<name>'}`")
    else:
        repair = manual(f"on {where}: chown -R root: {folder} && chmod 700 {folder} && chmod 600 {folder}/*")
    c.add(where, CHECK, expected, found, ok, repair)
