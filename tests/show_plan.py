"""Prints what `pulumi up` of a stack would run, server by server, without touching any server.

Usage: python -m tests.show_plan stacks/Pulumi.example.yaml
       python -m tests.show_plan example-dead-node-replaced   (a site of tests/golden_sites.py: a change
                                                              to a deployed stack, e.g. a dead node replaced)
Runs the unchanged program under Pulumi's mock runtime (a test key stands in for the secret key)."""
from __future__ import annotations

import sys
from pathlib import Path

from tests.golden_sites import VARIANTS, secret_keys
from tests.mock_runtime import run_program, stack_values
from tests.sites import SECRET_KEYS, TEST_KEY, cluster_outputs


def plan(site: str) -> tuple[list, dict]:
    """The steps (in the order Pulumi registers them) and the outputs of a stack file or a named site."""
    if site in VARIANTS:
        from components.record import Record
        from components.site import parse_site
        variant = VARIANTS[site]
        values, before, keys, stack = variant.values(), variant.previous_values(), secret_keys(variant.values()), variant.stack
    else:
        values, before, keys, stack = stack_values(Path(site)), None, SECRET_KEYS, Path(site).stem.split(".", 1)[-1]
        values.setdefault("ssh", {}).setdefault("privateKey", TEST_KEY)
    main_address = values["nodes"][0].get("clusterAddress", values["nodes"][0]["address"])
    mocks = cluster_outputs(main_address)
    if before is not None:
        mocks.previous = {"site": Record.of(parse_site(before, secret_keys(before))).to_dict()}
    deployed = run_program(values, keys, stack=stack, mocks=mocks)
    return deployed.commands, deployed.exports


def main(site: str) -> int:
    commands, exports = plan(site)
    names = {c.urn: c.name for c in commands}
    print(f"{len(commands)} steps; each starts when the steps after 'after:' have finished\n")
    for c in commands:
        after = sorted(names[u] for u in c.depends_on if u in names)
        print(f"{c.inputs['connection']['host']:>16}  "
              f"{c.name:<28} after: {', '.join(after) or '(nothing: starts at once)'}")
    import pulumi
    shown = {k: "[secret]" if isinstance(v, pulumi.Output) else v for k, v in exports.items()}
    print("\noutputs:", shown)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "stacks/Pulumi.example.yaml"))
