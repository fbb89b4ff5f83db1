"""A network namespace of the test's own in which one address:port answers, the bastion, forwarded
to the machine's through a Unix socket: a program run there reaches the lab's other hosts only
through that bastion, so one that ignored the bastion could not reach them at all.

    with only_the_bastion(address, port, folder) as run:
        done = run([sys.executable, "-m", "components.verify", ...])

Inside the namespace (`unshare --net`, then its loopback up) this module runs as
`python -m tests.behind_bastion <address> <port> <socket> <argv...>`: it listens on address:port,
forwards each connection to the socket, and runs argv."""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent


def _pump(source: socket.socket, sink: socket.socket) -> None:
    try:
        while data := source.recv(65536):
            sink.sendall(data)
    except OSError:
        pass
    with contextlib.suppress(OSError):
        sink.shutdown(socket.SHUT_WR)


def forward(listener: socket.socket, connect: Callable[[], socket.socket]) -> None:
    """Accept on `listener` (in a thread); each connection is piped both ways to a new `connect()`."""
    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            try:
                upstream = connect()
            except OSError:
                client.close()
                continue
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()
    threading.Thread(target=serve, daemon=True).start()


@contextlib.contextmanager
def only_the_bastion(address: str, port: int, folder: Path) -> Iterator[Callable[..., subprocess.CompletedProcess]]:
    """A runner of commands in a new network namespace where only address:port (the bastion) answers."""
    path = str(Path(folder) / "bastion.sock")
    listener = socket.socket(socket.AF_UNIX)
    listener.bind(path)
    listener.listen(64)
    forward(listener, lambda: socket.create_connection((address, port), timeout=10))

    def run(argv: Sequence[str], **kwargs) -> subprocess.CompletedProcess:
        inner = [sys.executable, "-m", "tests.behind_bastion", address, str(port), path, *argv]
        return subprocess.run(["unshare", "--net", "sh", "-c", 'ip link set lo up && exec "$@"', "sh", *inner],
                              cwd=ROOT, capture_output=True, text=True, **kwargs)
    try:
        yield run
    finally:
        listener.close()
        os.unlink(path)


def main(argv: list[str]) -> int:
    address, port, path, command = argv[0], int(argv[1]), argv[2], argv[3:]
    listener = socket.create_server((address, port))

    def to_socket() -> socket.socket:
        s = socket.socket(socket.AF_UNIX)
        s.connect(path)
        return s
    forward(listener, to_socket)
    return subprocess.run(command).returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
