"""What `make recover` reads from a node's dqlite files to choose the newest survivor
(components/recover/raftlog.py): the raft log's last index and term, and the node's identity. Checked
on segments written in libraft's format by hand (exact values) and on a real dqlite's own files
(Debian's go-dqlite, as the lab runs it: the order of two reads follows the writes)."""
from __future__ import annotations

import os
import shutil
import signal
import socket
import struct
import subprocess
import time
import urllib.request

import pytest

from components.recover.raftlog import describe

DEMO = "/usr/bin/dqlite-demo"


def segment(entries: list[tuple[int, bytes]]) -> bytes:
    """libraft's segment (uv_encoding.c): format version 1, then one batch of `entries` (term, data)."""
    headers = b"".join(struct.pack("<QB3xI", term, 1, len(data)) for term, data in entries)
    body = b"".join(data + b"\0" * (-len(data) % 8) for _, data in entries)
    return struct.pack("<Q", 1) + b"\0" * 8 + struct.pack("<Q", len(entries)) + headers + body


def test_the_last_entry_is_read_from_closed_and_open_segments_and_snapshots(tmp_path):
    (tmp_path / "info.yaml").write_text("Address: 192.168.1.51:19001\nID: 3297041220608546238\nRole: 0\n")
    (tmp_path / "0000000000000001-0000000000000003").write_bytes(segment([(1, b"a"), (1, b"bb"), (2, b"c" * 9)]))
    assert (describe(str(tmp_path))["lastIndex"], describe(str(tmp_path))["lastTerm"]) == (3, 2)
    # an open segment follows the closed ones; the preallocated rest of it is zeros
    (tmp_path / "open-1").write_bytes(segment([(3, b"d"), (3, b"e")]) + b"\0" * 4096)
    read = describe(str(tmp_path))
    assert (read["lastIndex"], read["lastTerm"]) == (5, 3)
    assert (read["address"], read["id"], read["exists"]) == ("192.168.1.51:19001", "3297041220608546238", True)
    # a snapshot newer than the log (its segments compacted away) gives its own index and term
    (tmp_path / "snapshot-4-10-1796518614").write_bytes(b"x")
    (tmp_path / "snapshot-4-10-1796518614.meta").write_bytes(b"x")
    assert (describe(str(tmp_path))["lastIndex"], describe(str(tmp_path))["lastTerm"]) == (10, 4)
    assert describe(str(tmp_path / "none"))["exists"] is False


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Demo:
    """One real dqlite node (dqlite-demo) with its data in `folder`."""

    def __init__(self, folder):
        self.folder, self.api, self.db = folder, free_port(), f"127.0.0.1:{free_port()}"
        self.proc = None

    def start(self):
        self.proc = subprocess.Popen([DEMO, "-a", f"127.0.0.1:{self.api}", "-d", self.db, "-D", str(self.folder)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.api), timeout=1).close()
                return
            except OSError:
                assert self.proc.poll() is None and time.monotonic() < deadline, "dqlite-demo did not start"
                time.sleep(0.1)

    def put(self, key: str, value: str) -> None:
        request = urllib.request.Request(f"http://127.0.0.1:{self.api}/{key}", data=value.encode(), method="PUT")
        assert urllib.request.urlopen(request, timeout=30).read() == b"done\n"

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        try:
            self.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()

    @property
    def backend(self) -> str:
        return os.path.join(self.folder, self.db)


@pytest.mark.skipif(shutil.which(DEMO) is None, reason="go-dqlite is not installed (make test installs it: lab/setup.sh)")
def test_a_real_dqlite_log_reads_newer_after_more_writes_and_a_power_loss(tmp_path):
    demo = Demo(tmp_path)
    demo.start()
    try:
        demo.put("first", "1")
    finally:
        demo.stop()
    before = describe(demo.backend)
    assert before["address"] == demo.db and before["id"] and before["lastIndex"] > 0 and before["lastTerm"] > 0
    demo.start()
    try:
        for i in range(5):
            demo.put(f"more-{i}", str(i))
    finally:
        demo.stop(signal.SIGKILL)     # a power loss: the newest entries are in an open segment
    after = describe(demo.backend)
    assert (after["lastTerm"], after["lastIndex"]) > (before["lastTerm"], before["lastIndex"])
    assert after["lastIndex"] >= before["lastIndex"] + 5     # each write is at least one entry
    assert after["id"] == before["id"]
