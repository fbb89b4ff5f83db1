"""Where the main node's datastore backups go besides itself: its backup key, each place's receiving
end (every other node, which takes a copy while it is a datastore voter; a backup host), and the
list of places with their pinned host keys, on the main node. The backups themselves are taken by
the steps they protect (components/render/backups.py)."""
from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.backups import key_command, place_line, places_command, receiver_command


@dataclass(frozen=True)
class BackupPlace:
    server: Server
    address: str       # its SSH address and port, as the main node reaches it
    port: int
    user: str
    datastore: str     # how the datastore lists it (a copy goes there while it is a voter); "-": a backup host
    directory: str     # where it keeps the copies


@dataclass(frozen=True)
class DatastoreBackupsArgs:
    main: Server
    places: tuple[BackupPlace, ...]


class DatastoreBackups(pulumi.ComponentResource):
    """The main node's backup key, a receiver on each place, then the places on the main node,
    after `opts.depends_on` (the preflight). No backup bytes pass through a step: only public keys."""

    def __init__(self, name: str, args: DatastoreBackupsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.BACKUPS), name, None, opts)
        main = args.main
        key = step(names.backup_key(main.name), main.connection, key_command(main.name, sudo=main.sudo),
                   after=depends_on(opts), parent=self)
        receivers = [step(names.backup_receiver(p.server.name), p.server.connection,
                          receiver_command(p.address, p.port, directory=p.directory, sudo=p.server.sudo),
                          stdin=key.stdout, after=[key], parent=self) for p in args.places]
        lines = [place_line(p.server.name, p.address, p.port, p.user, p.datastore) for p in args.places]
        host_keys = pulumi.Output.all(*(r.stdout for r in receivers)).apply(
            lambda outs: "".join(f"{line.strip()}\n" for out in outs for line in out.splitlines() if line.strip()))
        places = step(names.backup_places(main.name), main.connection, places_command(lines, sudo=main.sudo),
                      stdin=host_keys, after=[key, *receivers], parent=self)
        self.done: list[remote.Command] = [places]
        self.register_outputs({"places": [p.server.name for p in args.places]})
