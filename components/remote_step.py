"""One remote step = one pulumi_command remote.Command, with the project's safety defaults."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

import pulumi
from pulumi_command import remote

from .render.shell import digest
from .site import BalancerHost, Node, Site


@dataclass(frozen=True)
class Server:
    """Where a component's steps run: a node (by its name) or a balancer host, how to reach it, and
    whether its scripts run under `sudo -n`. Built from the site by cluster.py, once per server."""
    name: str
    connection: remote.ConnectionArgs
    sudo: bool


def server_of(site: Site, node: Node) -> Server:
    return Server(node.name, connection(site, node.address, port=node.port, host_key=node.host_key),
                  site.ssh.needs_sudo)


def balancer_of(site: Site, balancer: BalancerHost) -> Server:
    """A load balancer host: its own port, user and host key over `ssh`'s, the site's sudo."""
    return Server(balancer.host, connection(site, balancer.host, port=balancer.port, user=balancer.user,
                                            host_key=balancer.host_key), site.ssh.needs_sudo)


def connection(site: Site, host: str, *, port: Optional[int] = None, user: Optional[str] = None,
               host_key: Optional[str] = None) -> remote.ConnectionArgs:
    key = pulumi.Output.secret(str(site.ssh.private_key))
    password = (pulumi.Output.secret(str(site.ssh.private_key_password))
                if site.ssh.private_key_password else None)
    proxy = None
    if site.ssh.bastion:
        b = site.ssh.bastion
        proxy = remote.ProxyConnectionArgs(host=b.host, port=b.port, user=b.user or site.ssh.user,
                                           private_key=key, private_key_password=password, host_key=b.host_key)
    return remote.ConnectionArgs(host=host, port=port or site.ssh.port, user=user or site.ssh.user,
                                 private_key=key, private_key_password=password, host_key=host_key,
                                 proxy=proxy)


def depends_on(opts: Optional[pulumi.ResourceOptions]) -> list[pulumi.Resource]:
    """A component's `opts.depends_on`, for the steps that must wait for it (Pulumi does not delay a
    component's children by the component's own dependencies)."""
    deps = opts.depends_on if opts is not None else None
    if deps is None:
        return []
    return list(deps) if isinstance(deps, (list, tuple)) else [deps]


# A step that ran once and must never run again (a departure) ignores every later change of its
# inputs: a new key or a new script text must not make a decommissioned node's leave run again.
EVERY_INPUT = ["connection", "create", "update", "stdin", "logging", "triggers", "environment",
               "addPreviousOutputInEnv"]


def step(name: str, conn: remote.ConnectionArgs, create: pulumi.Input[str], *, parent: pulumi.Resource,
         after: Sequence[pulumi.Resource] = (), update: Optional[pulumi.Input[str]] = None,
         stdin: Optional[pulumi.Input[str]] = None, applies: Any = None, secret_output: bool = False,
         log: str = "stdoutAndStderr", triggers: Optional[Sequence[Any]] = None, once: bool = False,
         keep_create: bool = False, aliases: Optional[Sequence[pulumi.Alias]] = None) -> remote.Command:
    """A remote command. Whatever comes on stdin is a secret; so is the output when it carries one
    (a join token), and then nothing of it is logged.

    No step has a `delete`: pulumi-command would run the stored one on a replace, a rename or a
    partial destroy too, on a server that may be dead. `applies`: the settings the step applies;
    their digest goes first on stdin for the script's applied_guard. `update`: what runs when the
    step's inputs change (default: `create` again). `keep_create`: the create that ran is kept, a
    new one counts only for a step created anew (a create that differs from the update by what the
    run that creates the step asks for)."""
    secret_outputs = ["stdout", "stderr"] if secret_output else []
    if applies is not None:
        fingerprint = digest(applies)
        stdin = pulumi.Output.from_input(stdin if stdin is not None else "").apply(
            lambda rest: f"{fingerprint}\n{rest}")
    return remote.Command(
        name,
        connection=conn,
        create=create,
        update=update,
        stdin=pulumi.Output.secret(stdin) if stdin is not None else None,
        logging="none" if secret_output else log,
        triggers=list(triggers) if triggers is not None else None,
        add_previous_output_in_env=False,
        opts=pulumi.ResourceOptions(parent=parent, depends_on=list(after),
                                    additional_secret_outputs=secret_outputs or None,
                                    ignore_changes=EVERY_INPUT if once else (["create"] if keep_create else None),
                                    aliases=aliases),
    )
