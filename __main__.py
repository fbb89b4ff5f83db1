"""elma365-cluster: an ELMA365 On-Premises HA cluster on the servers of one site (stacks/Pulumi.<site>.yaml)."""
import pulumi

from components.cluster import Elma365Cluster, Elma365ClusterArgs
from components.site_source import load_previous, load_site

site = load_site()
cluster = Elma365Cluster("elma365", Elma365ClusterArgs(site, previous=load_previous(site)))

pulumi.export("nodeNames", cluster.node_names)
pulumi.export("mainNode", cluster.main_node)
pulumi.export("haproxyUrl", cluster.haproxy_url)
pulumi.export("configured", cluster.configured)
pulumi.export("kubeconfig", pulumi.Output.secret(cluster.kubeconfig))  # for other stacks (a StackReference)
pulumi.export("kubernetesNodes", cluster.kubernetes_nodes)  # {node: labels} when kubernetes.enabled
pulumi.export("facts", cluster.facts)  # what each node reported it runs (components/facts/node.py)
pulumi.export("site", cluster.record)  # what the next run compares the config with (components/record.py)
