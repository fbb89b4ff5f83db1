"""The fact layer: what a server runs, read from it (never assumed), in one module per subject.

Each module holds the read-only commands of its subject (shell text, rendered into the steps'
scripts or run by `make verify`) and the parsers of what they print:

    node.py        what a node runs: this program's marks, ELMA365, MicroK8s and its channel, the
                   datastore's members; the preflight's FACT lines, and the reads the steps check
                   with before they act (in the datastore, in Kubernetes, the snap channel)
"""
