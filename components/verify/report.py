"""What `make verify` prints, and its exit status: one table (status, node, check, expected from
the config, found), a line per drift with the command that repairs it, and a summary that counts
the skipped checks apart: not verified. Exit 0 when nothing drifts, 1 on any drift (2, when it
could not start, is the CLI's: components/verify/cli.py)."""
from __future__ import annotations

from typing import Optional, Sequence

from .checks import DRIFT, SKIP, Row


def exit_code(rows: Sequence[Row]) -> int:
    return 1 if any(r.status == DRIFT for r in rows) else 0


def report(rows: Sequence[Row], seconds: Optional[float] = None) -> str:
    """One table (status, node, check, expected from the config, found), a line per drift with the
    command that repairs it, and a summary that counts the skipped checks apart: not verified."""
    head = ("", "NODE", "CHECK", "EXPECTED (config)", "FOUND")
    cells = [head] + [(r.status, r.where, r.check, r.expected, r.found) for r in rows]
    widths = [min(max(len(c[i]) for c in cells), cap) for i, cap in enumerate((5, 22, 70, 60, 0))]
    lines = []
    for c in cells:
        lines.append("  ".join(c[i].ljust(widths[i]) for i in range(4)) + "  " + c[4])
    drifts = [r for r in rows if r.status == DRIFT]
    skipped = [r for r in rows if r.status == SKIP]
    if drifts:
        lines += ["", f"{len(drifts)} drift(s); the command that repairs each:"]
        for r in drifts:
            lines.append(f"DRIFT {r.where}: {r.check}: {r.repair.text if r.repair else '(none known)'}")
    took = f" in {seconds:.1f} s" if seconds is not None else ""
    lines += ["", f"{len(rows)} checks{took}: {len(rows) - len(drifts) - len(skipped)} match, {len(drifts)} drift, "
              f"{len(skipped)} skipped (not verified: " + ("; ".join(f"{r.where} {r.check}" for r in skipped) or "none")
              + ")",
              "read-only: nothing was changed on any server. ELMA365 figures (nodes up, HA mode, autoscaling, "
              "Linkerd, external services, replicas) come from `elma365ctl status`, whose output the vendor does not "
              "document."]
    return "\n".join(lines) + "\n"
