"""Serves the elma365-cluster policy pack to the Pulumi CLI: pulumi preview --policy-pack policies/

The CLI runs this file from policies/; the project root goes on sys.path first so the pack uses
the program's own rules (components/rules/) and its policies (policies/elma365_pack.py)."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from pulumi_policy import EnforcementLevel, PolicyPack  # noqa: E402

from policies.elma365_pack import PACK_NAME, POLICIES  # noqa: E402

PolicyPack(
    name=PACK_NAME,
    policies=POLICIES,
    enforcement_level=EnforcementLevel.MANDATORY,
    description="Guard rails for the elma365-cluster program: cluster shape, SSH and secrets hygiene of the "
                "remote commands, serial joins and HA roll-out.",
)
