"""How `make verify` reads a host: one SSH session runs every read-only command (a section) and
prints each one's output (stdout and stderr) and exit status between markers; a derived section is
a fact read from another section's output on the host, by the fact layer's own filter (the same
text the preflight reads that fact with: components/facts/node.py). Only the stats page read gets
the session's stdin (its password); every other command reads /dev/null."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Optional, Sequence

from ..render.shell import q, remote
from ..render.template import Text, fill
from ..site import Site

MARK = "@@elma365-verify"
_SECTION = fill("verify-section.sh", mark=Text(MARK))

# A section: (name, command) or (name, command, reads stdin); a derived one: (name, from, filter).
Read = tuple


@dataclass(frozen=True)
class Section:
    rc: int
    out: str


@dataclass
class HostOutput:
    """What one host answered: its sections, or why it could not be reached."""
    reachable: bool
    sections: dict[str, Section] = field(default_factory=dict)
    error: str = ""


def host_script(site: Site, sections: Sequence[Read], derived: Sequence[tuple[str, str, str]] = (),
                sudo: Optional[bool] = None) -> str:
    """One command line for one host: every section, every derived one, then exit 0 (a failed read
    is a finding). `sudo`: whether it runs under sudo where the host's login differs from `ssh`'s."""
    lines = [_SECTION]
    for name, command, *rest in sections:
        lines.append(f"section {q(name)} {q(command)}" + (" stdin" if rest and rest[0] else ""))
    for name, source, read in derived:
        lines.append(f"derive {q(name)} {q(source)} {q(read)}")
    lines.append("exit 0")
    return remote("\n".join(lines), sudo=site.ssh.needs_sudo if sudo is None else sudo)


def parse_sections(stdout: str) -> dict[str, Section]:
    sections: dict[str, Section] = {}
    name, lines = None, []
    begin, end = re.compile(rf"^{MARK} begin (\S+)$"), re.compile(rf"^{MARK} end (\S+) (\d+)$")
    for line in stdout.splitlines():
        if name is None:
            m = begin.match(line)
            if m:
                name, lines = m.group(1), []
            continue
        m = end.match(line)
        if m and m.group(1) == name:
            sections[name] = Section(int(m.group(2)), "\n".join(lines))
            name = None
        else:
            lines.append(line)
    return sections


def last_line(section: Optional[Section]) -> str:
    """What a failed read said last, in a few words."""
    if section is None:
        return "no output"
    lines = [line.strip() for line in section.out.splitlines() if line.strip()]
    return (lines[-1] if lines else f"exit {section.rc}")[:160]


def sha256_of(section: Optional[Section]) -> str:
    """The digest `sha256sum < FILE` printed, or "" when it could not read the file."""
    return section.out.split()[0] if section and section.rc == 0 and section.out.split() else ""


def file_reads(name: str, digest: str, path: str) -> list[Read]:
    """A live file as the program wrote it: its text, and its digest (compared with the rendered one)."""
    return [(name, f"cat -- {q(path)}", False), (digest, f"sha256sum < {q(path)}", False)]
