"""The one command line that repairs each drift `make verify` finds: commands over SSH, as the
operator reaches each host (user, port, bastion), and `pulumi up --replace` of the steps that put
it back, with their URNs from the stack (`pulumi stack export`) or from components/names.py."""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import Mapping, Optional, Sequence

from .. import names, site_view
from ..facts.haproxy import balancers
from ..render.shell import APPLIED_DIR
from ..site import BalancerHost, Node, Site


@dataclass(frozen=True)
class Target:
    """How the operator reaches a host with ssh."""
    address: str
    port: int
    user: str

    def ssh(self, commands: Sequence[str], bastion: Optional[str] = None) -> str:
        sudo = "" if self.user == "root" else "sudo "
        remote_cmd = " && ".join(sudo + c for c in commands)
        if len(commands) > 1 or re.search(r"[^\w\s=./:,@+-]", remote_cmd):
            remote_cmd = shlex.quote(remote_cmd)
        port = "" if self.port == 22 else f"-p {self.port} "
        jump = f"-J {bastion} " if bastion else ""
        return f"ssh {port}{jump}{self.user}@{self.address} {remote_cmd}"


@dataclass(frozen=True)
class Repair:
    """The one command line that repairs a drift (`text`), and what it consists of, for tests:
    commands per host over SSH (in order), then `pulumi up --replace` of these URNs. `manual`:
    nothing run from here repairs it; `text` says what to do."""
    text: str
    ssh: tuple[tuple[str, tuple[str, ...]], ...] = ()
    replace: tuple[str, ...] = ()
    manual: bool = False


@dataclass(frozen=True)
class Context:
    stack: Optional[str] = None          # the Pulumi stack (for `pulumi up --stack`)
    project: str = "elma365-cluster"
    unread_secrets: frozenset[str] = frozenset()   # config paths whose secret value was not read
    # step name -> URN, as the stack has them (`pulumi stack export`); a step not there gets the
    # URN components/names.py gives it
    urns: Mapping[str, str] = field(default_factory=dict)


def targets(site: Site) -> dict[str, Target]:
    return {key: Target(*where) for key, where in site_view.targets(site, [key for key, _, _ in balancers(site)]).items()}


def bastion(site: Site) -> Optional[str]:
    b = site.ssh.bastion
    if not b:
        return None
    return f"{b.user or site.ssh.user}@{b.host}" + ("" if b.port == 22 else f":{b.port}")


def ssh_line(site: Site, host: str, *commands: str) -> str:
    """The ssh command line that runs `commands` on `host` (a node's name, or a balancer's key)."""
    return targets(site)[host].ssh(commands, bastion(site))


def urn(ctx: Context, step: str) -> str:
    return ctx.urns.get(step) or names.urn(ctx.stack or "<stack>", ctx.project, step)


def _pulumi_up(ctx: Context, urns: Sequence[str]) -> str:
    stack = f" --stack {ctx.stack}" if ctx.stack else ""
    return f"pulumi up{stack}" + "".join(f" --replace {shlex.quote(u)}" for u in urns)


def ssh_repair(site: Site, host: str, *commands: str) -> Repair:
    return Repair(ssh_line(site, host, *commands), ssh=((host, tuple(commands)),))


def manual(text: str) -> Repair:
    return Repair(text, manual=True)


def unreachable(site: Site, host: str, what: str) -> Repair:
    """A host that does not answer: nothing from here repairs it; the line tells when it answers."""
    return manual(f"bring {what} back (power, network, sshd): no command from here repairs it; "
                  f"`{ssh_line(site, host, 'true')}` tells when it answers")


def steps_repair(site: Site, ctx: Context, forget: Mapping[str, Sequence[str]], urns: Sequence[str]) -> Repair:
    """Steps of the program to run again: their records on the nodes are emptied (an empty digest
    never matches, so each step's guard runs its vendor tool), then `pulumi up --replace` runs
    exactly those steps (Pulumi runs a step only when its inputs change, so a plain `pulumi up`
    after a change by hand runs nothing)."""
    ssh = tuple((host, (f"truncate -s 0 {' '.join(f'{APPLIED_DIR}/{s}' for s in steps)}",))
                for host, steps in forget.items() if steps)
    parts = [ssh_line(site, host, *cmds) for host, cmds in ssh]
    parts.append(_pulumi_up(ctx, urns))
    return Repair(" && ".join(parts), ssh=ssh, replace=tuple(urns))


def settings_repair(site: Site, ctx: Context, ha: bool, settings: bool) -> Repair:
    """`elma365ctl reconfigure` again through the program (it answers every setting from the
    config, secrets included); with `ha` the update-hamode roll-out and the restart after it; with
    `settings` (autoscaling, Linkerd, external services) the scale commands after it."""
    main = site.main.name
    forget: dict[str, list[str]] = {main: [names.APPLIED_SETTINGS]}
    urns = [urn(ctx, names.RECONFIGURE)]
    if settings and not (site.scaling.autoscaling and site.scaling.autoscaling.enabled):
        forget[main] += [names.applied_scale(s) for s in site.scaling.replicas]
        urns += [urn(ctx, names.scale(s)) for s in site.scaling.replicas]
    if ha:
        for node in site.active:
            forget.setdefault(node.name, []).append(names.APPLIED_HAMODE)
            urns.append(urn(ctx, names.update_hamode(node.name)))
        forget[main].append(names.APPLIED_RESTART)
        urns.append(urn(ctx, names.RESTART))
    return steps_repair(site, ctx, forget, urns)


def rejoin_repair(site: Site, ctx: Context, node: Node, listed: bool) -> Repair:
    """A node that is not in the cluster (it left by hand, or its join failed): the program's join
    again, with a fresh token from the main node. A node that left stays a (NotReady) Node on the
    main node until `microk8s remove-node`, and add-node refuses a node listed there; with HA on, the
    node's update-hamode and the restart after it run again too (the join forgets what the node
    applied; the restart's record on the main node is emptied)."""
    on_main = ([f"microk8s remove-node {node.name}"] if listed else []) + \
        ([f"truncate -s 0 {APPLIED_DIR}/{names.APPLIED_RESTART}"] if site.ha.enabled else [])
    urns = [urn(ctx, names.add_node(node.name))]
    if site.ha.enabled:
        urns += [urn(ctx, names.update_hamode(node.name)), urn(ctx, names.RESTART)]
    ssh = ((site.main.name, tuple(on_main)),) if on_main else ()
    parts = [ssh_line(site, site.main.name, *on_main)] if on_main else []
    return Repair(" && ".join(parts + [_pulumi_up(ctx, urns)]), ssh=ssh, replace=tuple(urns))


def haproxy_repair(site: Site, ctx: Context, balancer: Optional[BalancerHost] = None,
                   what: Sequence[str] = ("version", "config")) -> Repair:
    h = site.haproxy
    assert h is not None
    host = (balancer or h.balancers[0]).host
    # without the stack's URNs, the first balancer is taken to have the unsuffixed names
    urns = [urn(ctx, names.balancer(w, host, first=host == h.balancers[0].host)) for w in what]
    return Repair(_pulumi_up(ctx, urns), replace=tuple(urns))


def channel_pin_repair(ctx: Context, channel: str, pin: str) -> Repair:
    """The main node's channel differs from a pinned install.microk8sChannel: a pin one minor version
    ahead is a rolling refresh that has not run (or stopped: README "Patch or upgrade MicroK8s");
    any other pin follows the main node."""
    stack = f" --stack {ctx.stack}" if ctx.stack else ""
    if _minor(pin) is not None and _minor(pin) == (_minor(channel) or -2) + 1:
        return Repair(f"pulumi up{stack} (a rolling refresh of MicroK8s to {pin} is due; README: Patch or upgrade MicroK8s)")
    return Repair(f"pulumi config set{stack} --path elma365:install.microk8sChannel {channel} (the main node's; a node "
                  "joining later gets it)")


def _minor(channel: str) -> Optional[int]:
    """`1.29/stable` -> 1029, as the preflight's microk8s-refresh check counts minor versions."""
    track = channel.split("/", 1)[0].split(".")
    return int(track[0]) * 1000 + int(track[1]) if len(track) == 2 and all(t.isdigit() for t in track) else None


def certificate_repair(ctx: Context, days_before: int) -> Repair:
    """A node's server or front proxy client certificate ends within install.certificates.renewDaysBefore
    (or has ended): `pulumi up` renews it, node by node (docs/certificates.md); with renewal off, by hand."""
    stack = f" --stack {ctx.stack}" if ctx.stack else ""
    if days_before <= 0:
        return manual(f"pulumi config set{stack} --path elma365:install.certificates.renewDaysBefore 60, then pulumi up"
                      f"{stack} (renewal is off; docs/certificates.md)")
    return Repair(f"pulumi up{stack} (renews it node by node; docs/certificates.md: Certificates)")


def departure_repair(site: Site, ctx: Context, extra: Sequence[str]) -> Repair:
    """Kubernetes lists nodes beyond the config: a departure that did not finish, or unknown ones."""
    named = {n.name for n in site.decommissioned}
    if extra and all(e in named for e in extra):
        return Repair(f"pulumi up{f' --stack {ctx.stack}' if ctx.stack else ''}"
                      f" (its departure did not finish; the run tries it again)")
    return manual(f"{', '.join(extra)}: not in the config's nodes; add its entry with `decommission: true` "
                  f"(or \"force\" for a dead one) and run `pulumi up`")
