"""`make backup STACK=<name>` and `make restore STACK=<name> BACKUP=<file>`: the datastore backup of a
live site on demand, and its restore, over SSH with the program's connection settings and the
stack's config read as `make verify` reads it (components/verify/cli.py); nothing of Pulumi runs.

    python -m components.verify.backup_cli backup  --pulumi-stack <name>
    python -m components.verify.backup_cli restore --pulumi-stack <name> --backup <file> [--yes]

backup: one backup taken on the main node, checked and copied to the other voters (and the backup
host) as before a change (components/render/backups.py); nothing else changes. restore: the backup
(a name in the main node's backup folder, or a path there) checked, the operator asked (naming the
site and the backup's time), then `microk8s dbctl restore` on the main node; what to check after.
Exit 0 when done, 1 when the backup or the restore failed or was refused, 2 when it could not start.
"""
from __future__ import annotations

import argparse
import datetime
import re
import subprocess
import sys
import tempfile
from typing import Optional, TextIO

import yaml

from ..render.backups import backup_command, restore_command
from ..site import Site
from .cli import VerifyError, add_source_arguments, key_file_of, site_of, values_of
from .collect import Ssh

TAKEN = re.compile(r"datastore-(\d{8}T\d{6}Z)\.tar\.gz$")


def on_main(site: Site, key_file: str, workdir: str, command: str, *, capture: bool) -> subprocess.CompletedProcess:
    main = site.main
    argv = Ssh(site, key_file, workdir).argv(main.name, main.address, main.port or site.ssh.port, site.ssh.user,
                                             main.host_key)
    return subprocess.run([*argv, command], stdin=subprocess.DEVNULL, text=True,
                          capture_output=capture, timeout=3600)


def taken_at(path: str, mtime: int) -> datetime.datetime:
    """When the backup was taken: from the name the program gives it, else the file's time."""
    m = TAKEN.search(path)
    if m:
        return datetime.datetime.strptime(m.group(1), "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
    return datetime.datetime.fromtimestamp(mtime, datetime.timezone.utc)


def after_restore(site: Site, stack: Optional[str]) -> str:
    main = site.main.name
    return (f"The datastore of {main} is back as the backup has it. Check, in this order:\n"
            f"  1. every node: `sudo microk8s status` says running, with the datastore's voters listed;\n"
            f"  2. on {main}: `sudo microk8s kubectl get nodes`: every node Ready (a node that joined after the\n"
            f"     backup is not in it: run `pulumi up`);\n"
            f"  3. on {main}: `sudo microk8s kubectl get pods -A`: ELMA365's pods Running again (they restart);\n"
            f"  4. `make verify STACK={stack or '<name>'}`: no drift; then open ELMA365.\n"
            f"Whatever changed in Kubernetes after the backup was taken is gone.\n")


def backup(site: Site, key_file: str, workdir: str) -> int:
    if site.install.datastore_backups <= 0:
        print("make backup: elma365:install.datastoreBackups is 0: this site keeps no datastore backups", file=sys.stderr)
        return 1
    done = on_main(site, key_file, workdir, backup_command(site.install.datastore_backups, sudo=site.ssh.needs_sudo),
                   capture=False)
    return 0 if done.returncode == 0 else 1


def restore(site: Site, stack: Optional[str], key_file: str, workdir: str, file: str, yes: bool,
            ask: TextIO = sys.stdin, out: TextIO = sys.stdout) -> int:
    sudo = site.ssh.needs_sudo
    checked = on_main(site, key_file, workdir, restore_command(file, restore=False, sudo=sudo), capture=True)
    if checked.returncode != 0:
        sys.stderr.write(checked.stderr)
        return 1
    size, mtime, path = checked.stdout.strip().splitlines()[-1].split(" ", 2)
    when = taken_at(path, int(mtime))
    site_name = stack or site.main.name
    out.write(f"Restore the datastore of site {site_name} (main node {site.main.name}) from {path},\n"
              f"taken {when:%Y-%m-%d %H:%M:%S} UTC ({size} bytes)? Every change to the cluster since then is lost.\n")
    if not yes:
        if not ask.isatty():
            out.write("make restore: not confirmed (no terminal): run it again with YES=1 to restore\n")
            return 1
        out.write(f"Type the site's name ({site_name}) to restore: ")
        out.flush()
        if ask.readline().strip() != site_name:
            out.write("make restore: not confirmed; nothing was restored\n")
            return 1
    out.flush()
    done = on_main(site, key_file, workdir, restore_command(path, restore=True, sudo=sudo), capture=False)
    if done.returncode != 0:
        print(f"make restore: microk8s dbctl restore {path} failed on {site.main.name} (exit {done.returncode})",
              file=sys.stderr)
        return 1
    out.write(after_restore(site, stack))
    return 0


def main(argv: Optional[list[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m components.verify.backup_cli", description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("backup", "restore"))
    add_source_arguments(parser)
    parser.add_argument("--backup", metavar="FILE", help="restore: the backup (its name, or a path on the main node)")
    parser.add_argument("--yes", action="store_true", help="restore: do not ask (for scripts)")
    args = parser.parse_args(argv)
    if args.action == "restore" and not args.backup:
        parser.error("restore needs --backup <file> (make restore ... BACKUP=<file>)")
    try:
        values, secret, _, stack = values_of(parser, args)
        site = site_of(values, secret)
        with key_file_of(site, str(args.key) if args.key else None) as key, \
                tempfile.TemporaryDirectory(prefix="elma365-backup.") as workdir:
            if args.action == "backup":
                return backup(site, key, workdir)
            return restore(site, stack, key, workdir, args.backup, args.yes)
    except (VerifyError, OSError, ValueError, yaml.YAMLError, subprocess.TimeoutExpired) as exc:
        print(f"make {args.action}: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
