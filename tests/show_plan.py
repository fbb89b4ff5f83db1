"""Prints what `pulumi up` of a stack would run, server by server, without touching any server.

Usage: python -m tests.show_plan stacks/Pulumi.example.yaml
Runs the unchanged program under Pulumi's mock runtime (a test key stands in for the secret key)."""
from __future__ import annotations

import sys
from pathlib import Path

from tests.mock_runtime import run_program, stack_values
from tests.sites import SECRET_KEYS, TEST_KEY, cluster_outputs


def main(path: str) -> int:
    values = stack_values(Path(path))
    values.setdefault("ssh", {}).setdefault("privateKey", TEST_KEY)
    main_address = values["nodes"][0].get("clusterAddress", values["nodes"][0]["address"])
    deployed = run_program(values, SECRET_KEYS, stack=Path(path).stem.split(".", 1)[-1],
                           mocks=cluster_outputs(main_address))
    names = {c.urn: c.name for c in deployed.commands}
    print(f"{len(deployed.commands)} steps; each starts when the steps after 'after:' have finished\n")
    for c in deployed.commands:
        after = sorted(names[u] for u in c.depends_on if u in names)
        print(f"{c.inputs['connection']['host']:>16}  "
              f"{c.name:<28} after: {', '.join(after) or '(nothing: starts at once)'}")
    import pulumi
    shown = {k: "[secret]" if isinstance(v, pulumi.Output) else v for k, v in deployed.exports.items()}
    print("\noutputs:", shown)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "stacks/Pulumi.example.yaml"))
