"""The fact layer: what a server runs, read from it (never assumed), in one module per subject.

Each module holds the read-only commands of its subject (shell text, rendered into the steps'
scripts or run by `make verify`) and the parsers of what they print:

    node.py        what a node runs: this program's marks, ELMA365, MicroK8s and its channel, the
                   datastore's members; the preflight's FACT lines, and the reads the steps check
                   with before they act (in the datastore, in Kubernetes, the snap channel)
    certificates.py  a node's MicroK8s certificates: days left, SANs, what is due for renewal
    microk8s.py    what `make verify` reads of a node's MicroK8s and ELMA365 besides those
    haproxy.py     an HAProxy host: its version, its live config, HAProxy's view of the backends
    keepalived.py  a balancer's keepalived config and whether it holds the virtual IP
    sections.py    how `make verify` runs them: one session per host, each output between markers

The preflight (components/render/preflight.py), the install and join steps and `make verify`
(components/verify/) read a fact through the same text, so a fact is read one way everywhere.
"""
