from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Optional

import pulumi

from . import names
from .remote_step import Server, depends_on, step
from .render.kubernetes import kubeconfig_command, node_labels, required, with_server
from .site import Node


@dataclass(frozen=True)
class KubeconfigSourceArgs:
    main: Server
    api_address: str   # the main node's SSH address: what the machine running Pulumi reaches


class KubeconfigSource(pulumi.ComponentResource):
    """`microk8s config` on the main node after the last join: a secret, with logging off, and its
    API server set to the main node's SSH address (what the machine running Pulumi reaches)."""

    def __init__(self, name: str, args: KubeconfigSourceArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.KUBECONFIG), name, None, opts)
        main = args.main
        self.command = step(names.kubeconfig(name), main.connection, kubeconfig_command(sudo=main.sudo),
                            secret_output=True, after=depends_on(opts), parent=self)
        address = args.api_address
        self.kubeconfig: pulumi.Output[str] = pulumi.Output.secret(
            self.command.stdout.apply(lambda text: with_server(text, address)))
        self.done: list[pulumi.Resource] = [self.command]
        self.register_outputs({"kubeconfig": self.kubeconfig})


@dataclass(frozen=True)
class KubernetesNodesArgs:
    nodes: tuple[Node, ...]   # the cluster's nodes, the main node first
    labels: Mapping[str, str] = field(hash=False)   # kubernetes.labels: on every node
    kubeconfig: pulumi.Output[str]


class KubernetesNodes(pulumi.ComponentResource):
    """A Kubernetes provider from the kubeconfig, and one NodePatch per node with the labels the site
    config declares: server-side apply of metadata.labels only, nothing else on the Node is touched."""

    def __init__(self, name: str, args: KubernetesNodesArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(names.type_of(names.KUBERNETES), name, None, opts)
        kubeconfig, after = args.kubeconfig, depends_on(opts)
        import pulumi_kubernetes as k8s  # only when enabled: the package is large

        self.provider = k8s.Provider("kubernetes", kubeconfig=pulumi.Output.secret(kubeconfig.apply(required)),
                                     opts=pulumi.ResourceOptions(parent=self))
        self.patches: dict[str, k8s.core.v1.NodePatch] = {}
        self.labels: dict[str, pulumi.Output] = {}
        for index, node in enumerate(args.nodes):
            labels = node_labels(node, args.labels, main=index == 0)
            patch = k8s.core.v1.NodePatch(
                f"{node.name}-labels",
                metadata=k8s.meta.v1.ObjectMetaPatchArgs(name=node.name, labels=labels),
                opts=pulumi.ResourceOptions(parent=self, provider=self.provider, depends_on=list(after)))
            self.patches[node.name] = patch
            self.labels[node.name] = patch.metadata.apply(lambda m, declared=labels: _labels_of(m, declared))
        self.done: list[pulumi.Resource] = list(self.patches.values())
        self.register_outputs({"nodes": self.labels})


def _labels_of(metadata: object, declared: dict[str, str]) -> dict[str, str]:
    labels: Optional[dict] = None
    if isinstance(metadata, dict):
        labels = metadata.get("labels")
    elif metadata is not None:
        labels = getattr(metadata, "labels", None)
    return dict(labels) if labels else dict(declared)
