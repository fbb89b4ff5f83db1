"""Measures the lab: commands per scenario, and a fresh deploy's wall time against its critical path.

    python -m lab.measure [--nodes 3] [--nodes 10] [--lab DIR] [--out FILE.json]

The simulator's steps get fixed durations (FIXED below). The critical path is what the manual
forces to be serial: install, then for each further node add-node + join, then scaling,
reconfigure, update-hamode on every node one at a time, restart; its length is the sum of those
steps' durations as the simulator's journal measured them on the nodes. Everything else (node
preparation, HAProxy) must overlap it. Wall time is that of the whole `pulumi up` of the real CLI
(start of the CLI, the language host and the program, provider start, the steps, the last
checkpoint), split into: before the first tool ran on a node, between the first and the last
tool, and after the last one.

A rolling refresh of MicroK8s (lab/refresh.py's load): a 3-node HA lab's pin moved 1.28 -> 1.29
by one `pulumi up`, under 20 requests/s through HAProxy: failed requests, the up's time, and per
node the time from its `kubectl drain` to its `uncordon` beside the `snap refresh` itself; then the
same refresh made as snapd's own timers may make it, every node at once (1.29 -> 1.30), by hand.

Two balancers with a virtual IP (lab/failover.py): under 20 requests/s the live balancer dies as
a host (link down, every process killed) or only its HAProxy dies, and later comes back; failed
requests are counted, the VIP's move is timed (polling who holds it), and the longest time
without an answer is measured. Then with `preempt: true`, and a single balancer for comparison.
"""
from __future__ import annotations

import argparse
import copy
import json
import os
import subprocess
import time
from pathlib import Path

from lab import by_hand, failover, refresh, toolchain
from lab.harness import Lab
from lab.load import wait_all_in_rotation

FIXED = {"install": 3.0, "add_node": 0.5, "join": 1.0, "scale": 0.5, "reconfigure": 1.0,
         "update_hamode": 1.0, "restart": 1.0, "snap_install": 1.0, "token_ttl": 600}
NODES = {"elma365-1", "elma365-2", "elma365-3"}   # the failover lab's
SERIAL = ("installer", "add-node", "join", "reconfigure", "update-hamode", "restart")


def critical_path(entries) -> float:
    """The manual's serial steps, as long as the simulated tools took on the nodes."""
    return sum(e.end - e.start for e in entries
               if e.action in SERIAL or e.action.startswith("scale "))


def scenario_counts(directory: Path) -> dict[str, dict[str, int]]:
    """Commands the engine ran (created, updated, replaced, deleted), and vendor tool calls on the
    nodes, per change an operator makes."""
    lab = Lab(directory, nodes=4, durations={"token_ttl": 600})
    results = {}
    try:
        keys = Path(lab.info["privateKeyPath"]).parent
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(keys / "rotated")], check=True)
        with open(lab.info["publicKeyPath"], "a") as authorized:  # the new key authorized everywhere first
            authorized.write((keys / "rotated.pub").read_text())
        base = copy.deepcopy(lab.values)
        scaled = copy.deepcopy(base)
        scaled["scaling"]["replicas"]["main"] = 3
        grown = copy.deepcopy(scaled)
        grown["nodes"] = lab.node_values(4)["nodes"]
        rotated = copy.deepcopy(scaled)
        rotated["ssh"]["privateKey"] = (keys / "rotated").read_text()
        ha_off = copy.deepcopy(rotated)
        ha_off["ha"] = {"enabled": False}
        decommissioned = copy.deepcopy(rotated)
        decommissioned["nodes"] = lab.node_values(4)["nodes"]
        decommissioned["nodes"][3]["decommission"] = True
        for name, values in (("fresh deploy (3 nodes)", base), ("no change", base),
                             ("scaling.replicas.main 2 -> 3", scaled), ("add node 4", grown),
                             ("delete node 4's entry", scaled), ("rotate the SSH key", rotated),
                             ("ha.enabled true -> false", ha_off), ("ha.enabled false -> true", rotated),
                             ("add node 4 again", decommissioned | {"nodes": grown["nodes"]}),
                             ("decommission node 4", decommissioned)):
            mark = lab.mark()
            report = lab.up(values)
            assert report.ok, (name, report.failures)
            results[name] = {"commands": len(report.steps),
                             "vendor tool calls": len(lab.journal(mark)),
                             "all tool calls (with checks)": len(lab.journal(mark, with_checks=True))}
    finally:
        lab.down()
    return results


def take_over_counts(directory: Path) -> dict[str, dict[str, int]]:
    """The same counts for taking over a site that already runs ELMA365 (lab/by_hand.py builds it
    outside Pulumi): one server installed by hand and two new ones to a 3-node HA site; a 3-node HA
    cluster built by hand, with HAProxy in front."""
    results = {}
    for name, build in (("take over a hand-installed server, 2 new nodes, HA on",
                         lambda site: by_hand.install(site, "elma365-1")),
                        ("take over a hand-built 3-node HA cluster",
                         lambda site: (by_hand.build_cluster(site, sorted(NODES), replicas=3, failover=30),
                                       by_hand.run(site, "elma365-1", "elma365ctl scale all 3 && elma365ctl scale main 2")))):
        lab = Lab(directory, nodes=3, durations={"token_ttl": 600})
        try:
            build(lab.site)
            mark = lab.mark()
            report = lab.up({**copy.deepcopy(lab.values), "adopt": True})
            assert report.ok, (name, report.failures)
            results[name] = {"commands": len(report.steps), "vendor tool calls": len(lab.journal(mark)),
                             "all tool calls (with checks)": len(lab.journal(mark, with_checks=True))}
        finally:
            lab.down()
    return results


def fresh_deploy_ratio(directory: Path, nodes: int) -> dict[str, float]:
    lab = Lab(directory, nodes=nodes, durations=FIXED)
    try:
        values = {**copy.deepcopy(lab.values), "nodes": lab.node_values(nodes)["nodes"]}
        lab.stack.configure(values)
        started = time.time()
        report = lab.stack.up()
        ended = time.time()
        assert report.ok, report.failures
        journal = lab.journal(with_checks=True)
        path = critical_path(lab.journal())
        noop = []
        for _ in range(3):
            again = lab.stack.up()
            assert again.ok and not again.steps, again.ran()
            noop.append(again.seconds)
    finally:
        lab.down()
    wall = ended - started
    return {"nodes": nodes, "wall seconds": round(wall, 2), "critical path seconds": round(path, 2),
            "ratio": round(wall / path, 3),
            "before the first tool ran": round(min(e.start for e in journal) - started, 2),
            "first to last tool": round(max(e.end for e in journal) - min(e.start for e in journal), 2),
            "after the last tool": round(ended - max(e.end for e in journal), 2),
            "commands": len(report.steps), "no-op up seconds (3 runs)": [round(x, 2) for x in noop]}


def balancer_failover(directory: Path, repeats: int) -> dict[str, object]:
    """Two balancers with a VIP under 20 requests/s: the live one dies (as a host; or only its
    HAProxy) `repeats` times each, and comes back; then preempt: true; then one balancer alone."""
    lab = Lab(directory / "vip", nodes=3, durations={"install": 0.2, "join": 0.1, "update_hamode": 0.1,
                                                      "token_ttl": 600}, balancers=2)
    try:
        assert lab.up().ok
        url = f"http://{lab.info['virtualIp']}/"
        failover.wait_every_balancer_serves(lab.info["balancers"], NODES)
        out: dict[str, object] = {"requests per load": int(failover.RATE * failover.SECONDS),
                                  "request timeout s": failover.TIMEOUT}
        for fault in ("host", "haproxy"):
            runs = []
            for _ in range(repeats):
                failed = failover.fail_live_balancer(lab.site, url, fault)
                back = failover.bring_back(lab.site, url, failed)
                runs.append({"failed": failed.failed, "vip moved after s": round(failed.vip_moved_after or -1, 2),
                             "longest silence s": round(failed.silence, 2), "failed on return": back.failed,
                             "vip stayed": back.holder_after == failed.holder_after})
            out[f"{fault} fault"] = runs
            print(f"{fault} fault: {runs}")
        values = copy.deepcopy(lab.values)
        values["haproxy"]["keepalived"]["preempt"] = True
        assert lab.up(values).ok
        runs = []
        for _ in range(repeats):
            while lab.site.holder() != "haproxy-1":
                time.sleep(0.2)
            failed = failover.fail_live_balancer(lab.site, url, "host")
            back = failover.bring_back(lab.site, url, failed)
            runs.append({"failed": failed.failed, "failed on return": back.failed,
                         "vip back on haproxy-1": back.holder_after == "haproxy-1",
                         "longest silence on return s": round(back.silence, 2)})
        out["preempt: host fault and return"] = runs
        print(f"preempt: {runs}")
        values = copy.deepcopy(lab.values)
        h = values["haproxy"]
        h.update(h.pop("hosts")[0])
        del h["virtualIp"], h["keepalived"]
        assert lab.up(values).ok
        single = f"http://{h['host']}/"
        wait_all_in_rotation(single, NODES)
        sent = failover.single_balancer_down(lab.site, single, "haproxy-1")
        out["single balancer dead 4 s"] = {"failed": sum(not s.ok for s in sent), "requests": len(sent),
                                           "longest silence s": round(failover.longest_silence(sent, 1.5), 2)}
        print(f"single balancer: {out['single balancer dead 4 s']}")
        return out
    finally:
        lab.down()


def rolling_refresh(directory: Path) -> dict[str, object]:
    lab = Lab(directory / "refresh", nodes=3, durations={"install": 0.2, "join": 0.1, "update_hamode": 0.1,
                                                          "token_ttl": 600, "snap_refresh": 1.5})
    try:
        assert lab.up().ok
        nodes = [n["name"] for n in lab.values["nodes"]]
        for node in nodes:
            refresh.wait_in_service(lab.site, node)
        values = copy.deepcopy(lab.values)
        values["install"]["microk8sChannel"] = "1.29/stable"
        mark, reports = lab.mark(), []
        rolled = refresh.under_load(refresh.url(lab.site), [("pulumi up", lambda: reports.append(lab.up(values)))])
        assert reports and reports[0].ok, reports and reports[0].failures
        journal = lab.journal(mark)
        per_node = {}
        for node in [*nodes[1:], nodes[0]]:
            mine = [e for e in journal if e.node == node]
            drain = next(e for e in mine if e.action.startswith("kubectl drain"))
            snap = next(e for e in mine if e.action.startswith("snap refresh microk8s --channel"))
            uncordon = next(e for e in mine if e.action.startswith("kubectl uncordon"))
            per_node[node] = {"drain to uncordon s": round(uncordon.end - drain.start, 2),
                              "snap refresh s": round(snap.end - snap.start, 2)}
        out: dict[str, object] = {
            "program, node by node": {"failed": rolled.failed, "requests": len(rolled.sent),
                                      "pulumi up s": round(rolled.steps[0].seconds, 1), "per node": per_node}}
        naive = refresh.under_load(refresh.url(lab.site), refresh.naive_steps(lab.site, nodes, "1.30/stable"))
        out["by hand, every node at once"] = {"failed": naive.failed, "requests": len(naive.sent),
                                              "s": round(naive.steps[0].seconds, 1)}
        print(f"rolling refresh: {out}")
        return out
    finally:
        lab.down()


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m lab.measure", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--lab", default="/tmp/elma365-lab-measure")
    parser.add_argument("--nodes", type=int, action="append", help="fresh-deploy sizes (default 3 and 10)")
    parser.add_argument("--out", default=None)
    parser.add_argument("--skip-counts", action="store_true")
    parser.add_argument("--skip-deploys", action="store_true", help="no fresh-deploy measurement")
    parser.add_argument("--failover-repeats", type=int, default=5,
                        help="two balancers with a VIP: how often each fault is measured (0: not at all)")
    parser.add_argument("--skip-refresh", action="store_true", help="no rolling-refresh measurement")
    parser.add_argument("--ssh-mux", action="store_true",
                        help="the lab's provider keeps one SSH connection per host (the real provider does not)")
    args = parser.parse_args()
    if args.ssh_mux:
        os.environ["ELMA365_LAB_SSH_MUX"] = "1"
    out = {"toolchain": toolchain.describe(), "durations": FIXED, "ssh connection per host": args.ssh_mux}
    print(f"toolchain: {out['toolchain']}")
    if not args.skip_counts:
        out["scenarios"] = scenario_counts(Path(args.lab)) | take_over_counts(Path(args.lab))
        for name, counts in out["scenarios"].items():
            print(f"{name:<20} {counts}")
    out["fresh deploy"] = []
    for nodes in [] if args.skip_deploys else args.nodes or [3, 10]:
        result = fresh_deploy_ratio(Path(args.lab), nodes)
        out["fresh deploy"].append(result)
        print(f"fresh deploy {result}")
    if not args.skip_refresh:
        out["rolling refresh"] = rolling_refresh(Path(args.lab))
    if args.failover_repeats:
        out["balancer failover"] = balancer_failover(Path(args.lab), args.failover_repeats)
    if args.out:
        Path(args.out).write_text(json.dumps(out, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
