from __future__ import annotations

from dataclasses import dataclass

import pulumi

from . import names
from .remote_step import Server, depends_on, step
from .render.certificates import RENEWAL, check_command, renew_command
from .render.refresh import RolloutNode, server_drain_command, server_ready_command


@dataclass(frozen=True)
class CertificateRenewalArgs:
    nodes: tuple[tuple[Server, RolloutNode], ...]   # in the renewal's order: the main node last
    balancers: tuple[Server, ...]                    # every HAProxy host: each takes each node out in turn
    days_before: int                                 # install.certificates.renewDaysBefore (> 0)
    tokens: dict[str, str]   # each node's renewal trigger (components/facts/certificates.renewal_tokens)
    want_voters: int         # datastore voters a restarted node waits for: 3 with 3+ nodes, else 0


class CertificateRenewal(pulumi.ComponentResource):
    """Each node's `server.crt` and `front-proxy-client.crt` renewed before they end, after
    `opts.depends_on` (MicroK8s runs on every node, refreshed where asked), node by node, the main
    node last: is it due (and may the cluster take its restart), HAProxy drains it on every
    balancer, `microk8s refresh-certs -e` + Ready on the node, HAProxy sends it requests again.

    Every node has its check: created once MicroK8s runs there, it reads the certificates (their
    ends go to the record the next run decides with). The other steps exist from the first time a
    certificate of the node comes due; all of them run again only when its token changes, i.e.
    when another certificate comes due: with nothing due, no step runs."""

    def __init__(self, name: str, args: CertificateRenewalArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.CERTIFICATES), name, None, opts)
        last: list[pulumi.Resource] = depends_on(opts)
        self.steps: list = []
        for server, node in args.nodes:
            token = args.tokens.get(node.name, "")

            def renewal_step(step_name: str, on: Server, command: str, after: list[pulumi.Resource],
                             stdin: pulumi.Input[str] | None = None):
                made = step(step_name, on.connection, command, stdin=stdin, after=after, triggers=[token], parent=self)
                self.steps.append(made)
                return made

            check = renewal_step(names.certificates_check(node.name), server,
                                 check_command(node, args.days_before, want_voters=args.want_voters, sudo=server.sudo), last)
            last = [check]
            if not token:
                continue
            drains = [renewal_step(names.certificates_state(node.name, "drain", b.name), b,
                                   server_drain_command(node.name, b.name, sudo=b.sudo, operation=RENEWAL), [check],
                                   check.stdout) for b in args.balancers]
            renewed = renewal_step(names.certificates_renew(node.name), server,
                                   renew_command(node, args.days_before, want_voters=args.want_voters, sudo=server.sudo),
                                   [check, *drains])
            readies = [renewal_step(names.certificates_state(node.name, "ready", b.name), b,
                                    server_ready_command(node.name, b.name, sudo=b.sudo, operation=RENEWAL), [renewed],
                                    check.stdout) for b in args.balancers]
            last = [renewed, *readies]
        self.done: list[pulumi.Resource] = last
        # what the checks and renewals read of the certificates (components/facts/certificates.reads_of)
        self.reads: list[pulumi.Output[str]] = [s.stdout for s in self.steps]
        self.register_outputs({"nodes": [node.name for _, node in args.nodes], "daysBefore": args.days_before,
                               "tokens": args.tokens})
