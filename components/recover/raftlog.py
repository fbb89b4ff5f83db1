"""What a node's dqlite backend folder holds, read from its files (read-only, stdlib only): its own
address and ID (info.yaml), the members it knows (cluster.yaml), and its raft log's last entry: index
and term. `make recover` sends this file to each node (`python3 - <backend>` on stdin) and picks the
newest survivor by (last term, last index), raft's own "up to date" order.

libraft's on-disk format (raft/src/uv_encoding.c, uv_segment.c): a segment starts with its format
version (uint64, 1); then batches, each: two crc32 (8 bytes), the number of entries n (uint64), n
headers of 16 bytes (term uint64, type uint8, 3 unused, data size uint32), the data, each entry's
padded to 8 bytes. A closed segment is named `<first index>-<last index>`; an open one `open-<n>`
(preallocated: zeros after the last batch) follows the closed ones. A snapshot's name
`snapshot-<term>-<index>-<timestamp>` gives its last index and term.
"""
from __future__ import annotations

import json
import os
import re
import struct
import sys

CLOSED = re.compile(r"^(\d{16})-(\d{16})$")
OPEN = re.compile(r"^open-(\d+)$")
SNAPSHOT = re.compile(r"^snapshot-(\d+)-(\d+)-(\d+)\.meta$")


def entry_terms(path: str) -> list[int]:
    """The term of each entry of one segment, in order (an open segment: up to its first empty batch)."""
    terms: list[int] = []
    with open(path, "rb") as f:
        head = f.read(8)
        if len(head) < 8 or struct.unpack("<Q", head)[0] != 1:
            return terms
        while True:
            batch = f.read(16)
            if len(batch) < 16:
                break
            n = struct.unpack("<Q", batch[8:])[0]
            if n == 0 or n > 1 << 20:
                break
            headers = f.read(16 * n)
            if len(headers) < 16 * n:
                break
            size = 0
            for i in range(n):
                term, _, length = struct.unpack("<QB3xI", headers[16 * i:16 * i + 16])
                terms.append(term)
                size += (length + 7) // 8 * 8
            f.seek(size, os.SEEK_CUR)
    return terms


def simple_yaml(path: str) -> list[dict[str, str]]:
    """info.yaml (one mapping) or cluster.yaml (a list of mappings) as go-dqlite writes them."""
    items: list[dict[str, str]] = []
    try:
        with open(path) as f:
            for line in f:
                m = re.match(r"^(- )?\s*(\w+):\s*(.*?)\s*$", line)
                if not m:
                    continue
                if m.group(1) or not items:
                    items.append({})
                items[-1][m.group(2)] = m.group(3)
    except OSError:
        pass
    return items


def describe(backend: str) -> dict:
    """The node's datastore as its files say: address, ID, members, last index and term."""
    names = os.listdir(backend) if os.path.isdir(backend) else []
    last_index = last_term = 0
    closed = sorted((int(m.group(1)), int(m.group(2)), n) for n in names if (m := CLOSED.match(n)))
    for first, last, name in closed:
        terms = entry_terms(os.path.join(backend, name))
        if last >= last_index:
            last_index, last_term = last, terms[-1] if terms else last_term
    after = closed[-1][1] if closed else 0
    for _, name in sorted((int(m.group(1)), n) for n in names if (m := OPEN.match(n))):
        terms = entry_terms(os.path.join(backend, name))
        if terms:
            # an open segment's entries follow the log so far; a re-written tail starts lower, but
            # never below the last closed segment's end
            after += len(terms)
            if after >= last_index:
                last_index, last_term = after, terms[-1]
    for name in names:
        m = SNAPSHOT.match(name)
        if m and int(m.group(2)) > last_index:
            last_index, last_term = int(m.group(2)), int(m.group(1))
    info = (simple_yaml(os.path.join(backend, "info.yaml")) or [{}])[0]
    return {"address": info.get("Address", ""), "id": info.get("ID", ""), "lastIndex": last_index,
            "lastTerm": last_term, "members": simple_yaml(os.path.join(backend, "cluster.yaml")),
            "exists": bool(names)}


if __name__ == "__main__":
    print("RAFTLOG " + json.dumps(describe(sys.argv[1])))
