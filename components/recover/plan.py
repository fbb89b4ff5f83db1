"""The recovery's plan, from what each reachable node's datastore holds (raftlog.py): pure functions.

MicroK8s' documented procedure (microk8s.io/docs/restore-quorum), in this order: stop MicroK8s on
every reachable node; back up each survivor's backend folder; on the newest survivor, cluster.yaml
lists only the survivors and dqlite's `.reconfigure` writes that into its raft log; its segments and
snapshots are copied to the other survivors (their own open-*, metadata1/2, segments removed); MicroK8s
starts on the survivors; each lost node is removed (`microk8s remove-node <lost> --force`). Every
step is safe to run again: an interrupted recovery, run again, reads the nodes anew and converges.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence


class RecoverError(ValueError):
    """The recovery refuses to start: nothing was changed."""


@dataclass(frozen=True)
class Held:
    """What one node's datastore holds, as raftlog.py read it."""
    node: str
    address: str       # its dqlite endpoint, <addr>:19001
    id: str
    last_index: int
    last_term: int

    @property
    def newness(self) -> tuple[int, int]:
        return (self.last_term, self.last_index)   # raft's "at least as up to date"

    @staticmethod
    def of(node: str, read: Mapping[str, Any]) -> "Held":
        return Held(node, str(read.get("address") or ""), str(read.get("id") or ""),
                    int(read.get("lastIndex") or 0), int(read.get("lastTerm") or 0))


@dataclass(frozen=True)
class Plan:
    site: str
    survivors: tuple[str, ...]
    lost: tuple[str, ...]
    unreachable: tuple[str, ...]       # lost nodes that did not answer over SSH
    stop_only: tuple[str, ...]         # reachable lost nodes: stopped, left stopped
    source: Held                       # the survivor whose raft log all survivors get
    held: Mapping[str, Held]
    remove_on: str                     # where `microk8s remove-node <lost> --force` runs

    def cluster_yaml(self) -> str:
        """cluster.yaml naming only the survivors, each a voter (Role 0), with its own ID."""
        return "".join(f"- Address: {self.held[n].address}\n  ID: {self.held[n].id}\n  Role: 0\n"
                       for n in self.survivors)

    def text(self) -> str:
        def newness(h: Held) -> str:
            return f"last index {h.last_index}, term {h.last_term}"
        lines = [f"Recovery of the datastore of site {self.site}:",
                 f"  lost nodes: {', '.join(self.lost)}"
                 + (f" (unreachable: {', '.join(self.unreachable)})" if self.unreachable else ""),
                 f"  survivors: {', '.join(self.survivors)}",
                 "  what each reachable node's datastore holds:"]
        lines += [f"    {n}: {h.address} (ID {h.id}), {newness(h)}" + ("  <- newest survivor: the source"
                                                                          if n == self.source.node else "")
                  for n, h in self.held.items()]
        others = [n for n in self.survivors if n != self.source.node]
        lines += ["  steps:",
                  f"    1. stop MicroK8s on {', '.join(self.survivors + self.stop_only)}"
                  + (f" ({', '.join(self.stop_only)}: lost, left stopped)" if self.stop_only else ""),
                  f"    2. back up the backend folder of {', '.join(self.survivors)} (/var/lib/elma365-cluster/recover/)",
                  f"    3. on {self.source.node}: cluster.yaml lists only {', '.join(self.survivors)}; "
                  "dqlite .reconfigure writes it into the raft log",
                  (f"    4. copy the raft log of {self.source.node} to {', '.join(others)} "
                   "(their open-*, metadata1/2, segments removed first)" if others else
                   "    4. nothing to copy: one survivor"),
                  f"    5. start MicroK8s on {', '.join(self.survivors)}",
                  f"    6. on {self.remove_on}: wait for the datastore, then microk8s remove-node --force "
                  f"{' '.join(self.lost)}"]
        return "\n".join(lines) + "\n"


def make_plan(site: str, nodes: Sequence[str], survivors: Sequence[str], reachable: Mapping[str, Optional[Mapping[str, Any]]],
              main: str, source: Optional[str] = None, allow_older: bool = False) -> Plan:
    """`nodes`: the config's active nodes in order; `reachable`: node -> what raftlog.py read (None:
    unreachable). Refuses (RecoverError), before anything changes: an unknown or unreachable survivor,
    a survivor without a datastore, no lost node, a source that is not the newest of the nodes read
    (unless `allow_older`: the newer entries are lost)."""
    problems = []
    unknown = [s for s in survivors if s not in nodes]
    if unknown:
        problems.append(f"SURVIVORS names {', '.join(unknown)}, which elma365:nodes does not have "
                        f"(the active nodes: {', '.join(nodes)})")
    if not survivors:
        problems.append("SURVIVORS names no node")
    for s in survivors:
        if s in nodes and reachable.get(s) is None:
            problems.append(f"survivor {s} is not reachable over SSH: a survivor's files are read and rewritten")
        elif s in nodes and not (reachable[s] or {}).get("exists"):
            problems.append(f"survivor {s} keeps no datastore (its backend folder is empty)")
    lost = [n for n in nodes if n not in survivors]
    if not lost:
        problems.append("every node is a survivor: nothing is lost, nothing to recover")
    if source is not None and source not in survivors:
        problems.append(f"FROM={source} is not one of SURVIVORS")
    if problems:
        raise RecoverError("; ".join(problems) + ". Nothing was changed.")
    held = {n: Held.of(n, r) for n in nodes if (r := reachable.get(n)) is not None and r.get("exists")}
    newest = max(held.values(), key=lambda h: h.newness)
    best_survivor = max((held[s] for s in survivors), key=lambda h: h.newness)
    chosen = held[source] if source else best_survivor
    if chosen.newness < newest.newness and not allow_older:
        raise RecoverError(
            f"{chosen.node} is not the newest datastore: {newest.node} holds last index {newest.last_index}, "
            f"term {newest.last_term}; {chosen.node} holds {chosen.last_index}, term {chosen.last_term}. "
            + (f"Name {newest.node} among SURVIVORS (or FROM={newest.node})"
               if newest.node not in survivors or source else f"Use FROM={newest.node}")
            + ", or set ALLOW_OLDER=1 to lose the newer entries. Nothing was changed.")
    remove_on = main if main in survivors else survivors[0]
    return Plan(site, tuple(survivors), tuple(lost), tuple(n for n in lost if reachable.get(n) is None),
                tuple(n for n in lost if reachable.get(n) is not None), chosen, held, remove_on)


def config_change(nodes: Sequence[str], lost: Sequence[str]) -> str:
    """What the operator puts in the stack config afterwards: the lost nodes force-decommissioned, so
    that `pulumi up` takes them out without SSH to them (and joins their replacements after)."""
    lines = ["Now put this into the stack config (elma365:nodes), then run pulumi up:"]
    for i, name in enumerate(nodes):
        if name in lost:
            lines.append(f"  nodes[{i}] ({name}): decommission: force"
                         f"      # pulumi config set --path 'elma365:nodes[{i}].decommission' force")
    return "\n".join(lines) + "\n"
