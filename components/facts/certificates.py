"""A node's MicroK8s certificates, read from the node: the preflight's FACT lines of them, the
parsers, and what is due for renewal.

MicroK8s (microk8s-resources/actions/common/utils.sh) signs each node's `server.crt` and
`front-proxy-client.crt` for 365 days and its CA for 3650, in `$SNAP_DATA/certs`, and never renews
them itself. The facts (components/scripts/facts-certificates.sh, read as root):

    certsread   <time>                      when they were read (UTC, ISO 8601)
    certca      <days> <end> | absent | unknown   ca.crt: whole days left (negative: expired), its end
    certserver  <days> <end> | absent | unknown   server.crt
    certproxy   <days> <end> | absent | unknown   front-proxy-client.crt
    certsans    DNS:...,IP:... | absent | unknown server.crt's subject alternative names
    certaddress yes | no | absent | unknown  whether they name the node's clusterAddress (where the
                                            reader knows it: the preflight, the renewal steps)

`make verify` reads the same lines (components/facts/microk8s.py), the renewal steps print them
again after a renewal (components/render/certificates.py).
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping, Optional, Sequence

from ..record import RecordedCertificates
from ..render.template import Raw, fill

CERTS_DIR = "/var/snap/microk8s/current/certs"    # $SNAP_DATA/certs
SNAP_OPENSSL = "/snap/microk8s/current/usr/bin/openssl"   # where the host has no openssl of its own
CA, SERVER, PROXY = "ca.crt", "server.crt", "front-proxy-client.crt"
# each certificate `microk8s refresh-certs` knows, and its fact
FACT_OF = {CA: "certca", SERVER: "certserver", PROXY: "certproxy"}
RENEWED = (SERVER, PROXY)    # what `pulumi up` renews; the CA never (docs/certificates.md)
READ_FACT, SANS_FACT, ADDRESS_FACT = "certsread", "certsans", "certaddress"
DAY = 86400


def facts_script(address: Optional[str] = None) -> str:
    """The FACT lines of this node's certificates (a piece of facts.sh's script: its `fact`); with
    the node's cluster `address`, whether server.crt names it."""
    names = fill("certificates-address.sh", address_fact=ADDRESS_FACT, address=address) if address else ""
    return fill("facts-certificates.sh", snap_openssl=SNAP_OPENSSL, read_fact=READ_FACT, certs_dir=CERTS_DIR,
                certs=[f"{cert}:{name}" for cert, name in FACT_OF.items()], sans_fact=SANS_FACT,
                address_fact=Raw(names))  # Raw: rendered above, or nothing


@dataclass(frozen=True)
class Certificate:
    days: Optional[int]       # whole days left when read (negative: expired); None: absent or unreadable
    end: Optional[str]        # its end, UTC ISO 8601
    state: str = "present"    # present | absent | unknown


@dataclass(frozen=True)
class NodeCertificates:
    read: Optional[str]                      # when they were read
    certificates: Mapping[str, Certificate]  # by file name
    sans: tuple[str, ...]                    # server.crt's, as `DNS:x` / `IP:x`; () where unread

    def has_address(self, address: str) -> Optional[bool]:
        """Whether server.crt names `address`; None where its SANs were not read."""
        if not self.sans:
            return None
        return f"IP:{address}" in self.sans or f"DNS:{address}" in self.sans


def parse_certificate(value: Optional[str]) -> Certificate:
    words = (value or "").split()
    if len(words) == 2 and _is_int(words[0]) and _when(words[1]) is not None:
        return Certificate(int(words[0]), words[1])
    return Certificate(None, None, words[0] if words and words[0] in ("absent", "unknown") else "unknown")


def parse_node(facts: Mapping[str, str]) -> Optional[NodeCertificates]:
    """One node's certificate facts ({name: value}, as components/facts/node.parse_facts gives
    them); None where the node reported none."""
    if READ_FACT not in facts:
        return None
    sans = facts.get(SANS_FACT, "")
    return NodeCertificates(facts[READ_FACT], {cert: parse_certificate(facts.get(name)) for cert, name in FACT_OF.items()},
                            tuple(s for s in sans.split(",") if ":" in s))


def due(node: NodeCertificates, now: dt.datetime, days_before: int, certs: tuple[str, ...] = RENEWED) -> list[str]:
    """The certificates of `certs` that end within `days_before` days of `now`, or have ended; none
    with `days_before` 0 (renewal off)."""
    if days_before <= 0:
        return []
    limit = now + dt.timedelta(days=days_before)
    return [cert for cert in certs if (c := node.certificates.get(cert)) and c.end and _when(c.end) <= limit]


# ------------------------------------------------------------------ the record of what was read last

def record_of(node: NodeCertificates) -> RecordedCertificates:
    """What the record (components/record.py) keeps of a node: when it was read, each certificate's
    end (left out: absent or unread)."""
    return RecordedCertificates(node.read or "", {cert: end for cert in FACT_OF if (end := node.certificates[cert].end)})


def from_record(entry: RecordedCertificates) -> NodeCertificates:
    return NodeCertificates(entry.read, {cert: Certificate(None, entry.ends.get(cert), "present" if entry.ends.get(cert) else "absent")
                                         for cert in FACT_OF}, ())


def latest(*reads: Mapping[str, RecordedCertificates]) -> dict[str, RecordedCertificates]:
    """Per node, the record read last among `reads` ({node: record_of(...)}): a step that did
    not run this time keeps its older output, so the read time decides, not the order."""
    out: dict[str, RecordedCertificates] = {}
    for read in reads:
        for node, entry in (read or {}).items():
            if entry.read and (node not in out or entry.read > out[node].read):
                out[node] = entry
    return out


def _is_int(word: str) -> bool:
    return word.lstrip("-").isdigit()


def _when(text: str) -> Optional[dt.datetime]:
    try:
        return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc)
    except (TypeError, ValueError):
        return None


def reads_of(facts: Mapping[str, Mapping[str, str]]) -> dict[str, RecordedCertificates]:
    """{node: record_of(...)} for every node whose certificate facts one output holds (as
    components/facts/node.parse_facts gives them: a preflight's, a renewal step's; outputs of
    different times go through `latest`)."""
    return {node: record_of(read) for node, node_facts in facts.items() if (read := parse_node(node_facts))}


def renewal_tokens(recorded: Optional[Mapping[str, RecordedCertificates]], nodes: Sequence[str], now: dt.datetime,
                   days_before: int) -> dict[str, str]:
    """Each node's renewal trigger, decided when the program runs from the certificates' ends the
    last successful deployment recorded (the stack output `site`, key `certificates`): the due
    certificates and their ends while any is due, else the token the node had ("" at first). So
    a renewal runs once when a certificate comes due (by the clock, with nothing read anew), and
    a renewed one, no longer due, changes nothing."""
    tokens = {}
    for node in nodes:
        entry = (recorded or {}).get(node) or RecordedCertificates("")
        read = from_record(entry)
        now_due = due(read, now, days_before)
        tokens[node] = (",".join(f"{cert}@{read.certificates[cert].end}" for cert in now_due) if now_due
                        else entry.renewal)
    return tokens
