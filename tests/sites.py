"""Site configs for the tests: the example stack, and ways to bend it."""
from __future__ import annotations

import copy
from typing import Any

from tests.mock_runtime import ROOT_DIR, Outputs, stack_values

# Not a key: a placeholder with a key's frame, built here so no key-shaped text sits in the repository.
_FRAME = "-----{} OPENSSH PRIVATE KEY-----"
TEST_KEY = f"{_FRAME.format('BEGIN')}\nTESTKEYMATERIALnotarealkey0123456789\n{_FRAME.format('END')}\n"
# A TLS bundle of the same kind (tests/golden's TLS site): a certificate's and a private key's frames
_PEM = "-----{} {}-----"
TLS_PEM = "".join(f"{_PEM.format('BEGIN', kind)}\n{body}\n{_PEM.format('END', kind)}\n" for kind, body in
                  (("CERTIFICATE", "TESTCERTIFICATEnotarealone0123456789"),
                   ("PRIVATE KEY", "TESTTLSKEYMATERIALnotarealkey0123456789")))
KEY_PASSWORD = "key-Passphr4se-Secret"
STATS_PASSWORD = "St4ts-Secret-Pa55"
PG_PASSWORD = "pg-Sup3r-Secret"
PG_URL = f"postgres://elma365:{PG_PASSWORD}@db.example.com:5432/elma365"


def example(**changes: Any) -> dict[str, Any]:
    """The example stack with its secrets set, as `pulumi config set --secret` would."""
    values = copy.deepcopy(stack_values(ROOT_DIR / "stacks" / "Pulumi.example.yaml"))
    values["ssh"]["privateKey"] = TEST_KEY
    values.update(changes)
    return values


SECRET_KEYS = {"ssh", "install"}


def add_node_output(main_address: str, token: str = "92b2db237428470dc4fcfc4ebbd9dc81") -> str:
    """What `elma365ctl add-node` prints (MicroK8s' format): another interface first, --worker variants."""
    return (
        "From the node you wish to join to this cluster, run the following:\n"
        f"microk8s join 10.0.2.15:25000/{token}/2c0cb3284b05\n\n"
        "Use the '--worker' flag to join a node as a worker not running the control plane, eg:\n"
        f"microk8s join 10.0.2.15:25000/{token}/2c0cb3284b05 --worker\n\n"
        "If the node you are adding is not reachable through the default interface you can use one of the following:\n"
        f"microk8s join 10.0.2.15:25000/{token}/2c0cb3284b05\n"
        f"microk8s join {main_address}:25000/{token}/2c0cb3284b05\n"
    )


HAPROXY_VERSION = "HAProxy version 2.6.12-1+deb12u1 2023/12/16 - https://haproxy.org/"


def cluster_outputs(main_address: str = "192.168.1.51", haproxy_version: str = HAPROXY_VERSION) -> Outputs:
    def stdout(args) -> str:
        if args.name.endswith("-add-node"):
            return add_node_output(main_address)
        return haproxy_version if args.name.startswith("haproxy-version") else ""
    return Outputs(stdout)
