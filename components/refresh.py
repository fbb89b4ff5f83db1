from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_command import remote

from . import names
from .remote_step import Server, depends_on, step
from .render.refresh import (RolloutNode, Target, backup_command, check_command, refresh_command,
                             server_drain_command, server_ready_command)


@dataclass(frozen=True)
class MicroK8sRefreshArgs:
    nodes: tuple[tuple[Server, RolloutNode], ...]   # in the roll-out's order: the main node last
    balancers: tuple[Server, ...]                    # every HAProxy host: each takes each node out in turn
    target: Target
    asked: bool        # the site asks for a refresh in this run (components/record.refresh_asked)
    want_voters: int   # datastore voters a refreshed node waits for: 3 with 3+ nodes, else 0
    backups: int       # install.datastoreBackups


class MicroK8sRefresh(pulumi.ComponentResource):
    """A rolling refresh of MicroK8s after `opts.depends_on` (the HA roll-out): a datastore backup on
    the main node, then node by node (the main node last): is it due, HAProxy drains it on every
    balancer, drain + `snap refresh` + Ready + uncordon on the node, HAProxy sends it requests again.
    Every step decides from what its node runs, so a node already refreshed is skipped and a
    roll-out stopped at a node goes on there."""

    def __init__(self, name: str, args: MicroK8sRefreshArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.REFRESH), name, None, opts)
        target = args.target

        def rollout_step(step_name: str, server: Server, command: str, after: list[pulumi.Resource],
                         stdin: pulumi.Input[str] | None = None) -> remote.Command:
            return step(step_name, server.connection, command, stdin=stdin, after=after, parent=self)

        main_server, main = args.nodes[-1]
        # created where no refresh is asked (a node that joins, a site taken over), the check and the
        # backup record the refresh number as had: what runs is what it asked for. A channel the
        # node does not track is rolled out all the same
        last: list[pulumi.Resource] = [step(
            names.microk8s_backup(main.name), main_server.connection,
            backup_command(main, target, mark=not args.asked, want_voters=args.want_voters, keep=args.backups,
                           sudo=main_server.sudo),
            update=backup_command(main, target, mark=False, want_voters=args.want_voters, keep=args.backups,
                                  sudo=main_server.sudo),
            after=depends_on(opts), keep_create=True, parent=self)]
        for server, node in args.nodes:
            check = step(names.microk8s_check(node.name), server.connection,
                         check_command(node, target, mark=not args.asked, sudo=server.sudo),
                         update=check_command(node, target, mark=False, sudo=server.sudo),
                         after=last, keep_create=True, parent=self)
            drains = [rollout_step(names.server_state(node.name, "drain", b.name), b,
                                   server_drain_command(node.name, b.name, sudo=b.sudo), [check], check.stdout)
                      for b in args.balancers]
            refreshed = rollout_step(names.microk8s_refresh(node.name), server,
                                     refresh_command(node, target, want_voters=args.want_voters, sudo=server.sudo),
                                     [check, *drains])
            readies = [rollout_step(names.server_state(node.name, "ready", b.name), b,
                                    server_ready_command(node.name, b.name, sudo=b.sudo), [refreshed], check.stdout)
                       for b in args.balancers]
            last = [refreshed, *readies]
        self.done: list[pulumi.Resource] = last
        self.register_outputs({"nodes": [node.name for _, node in args.nodes], "channel": target.channel,
                               "refresh": target.refresh})
