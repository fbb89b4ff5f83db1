"""Requests through a lab's load balancer: one GET, and a steady load on a fixed schedule (for a
fixed time, or in the background until stopped)."""
from __future__ import annotations

import threading
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Callable, Optional, Sequence


@dataclass
class Sent:
    """One GET through the load balancer."""
    at: float                 # when it was sent, in the caller's clock (e.g. seconds into a load)
    ok: bool                  # answered 200
    node: Optional[str]       # the node that answered (X-Elma365-Node)
    error: str = ""
    seconds: float = 0.0


def one(url: str, at: float = 0.0, timeout: float = 1.5) -> Sent:
    started = time.monotonic()
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            response.read()
            return Sent(at, response.status == 200, response.headers.get("X-Elma365-Node"),
                        seconds=time.monotonic() - started)
    except Exception as exc:  # refused, 5xx, timeout: a failed request
        return Sent(at, False, None, f"{type(exc).__name__}: {exc}", time.monotonic() - started)


def steady_load(url: str, rate: int, seconds: float, events: Sequence[tuple[float, Callable[[], None]]] = (),
                timeout: float = 1.5) -> list[Sent]:
    """`rate` requests/s for `seconds` on a fixed schedule (a bounded count, each with a short
    timeout); each event runs (in the sender's thread) once its time into the load has come."""
    pending = sorted(events, key=lambda e: e[0])
    futures = []
    with ThreadPoolExecutor(max_workers=64) as pool:
        start = time.monotonic()
        for i in range(int(rate * seconds)):
            at = i / rate
            while pending and pending[0][0] <= at:
                pending.pop(0)[1]()
            delay = start + at - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            futures.append(pool.submit(one, url, at, timeout))
        results = [f.result() for f in futures]
    for _, event in pending:
        event()
    return results


class Background:
    """`rate` requests/s through `url` on a fixed schedule from `with` until its end, in a thread of
    its own (whatever the caller does meanwhile); `sent` has them all once the block is left, each
    with its time into the load (`now()` tells the caller's)."""

    def __init__(self, url: str, rate: int, timeout: float = 1.5):
        self.url, self.rate, self.timeout = url, rate, timeout
        self.sent: list[Sent] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._send)
        self._start = 0.0

    def now(self) -> float:
        return time.monotonic() - self._start

    def _send(self) -> None:
        futures = []
        with ThreadPoolExecutor(max_workers=64) as pool:
            i = 0
            while True:
                at = i / self.rate
                if self._stop.wait(max(0.0, self._start + at - time.monotonic())):
                    break
                futures.append(pool.submit(one, self.url, at, self.timeout))
                i += 1
            self.sent = [f.result() for f in futures]

    def __enter__(self) -> "Background":
        self._start = time.monotonic()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def wait_all_in_rotation(url: str, names: set[str], deadline: float = 20.0) -> float:
    """Seconds until every node in `names` has answered through `url`; fails after `deadline`.
    HAProxy takes a node in only after `rise` good checks, so right after a fresh `up` the
    load balancer may still be counting."""
    start = time.monotonic()
    seen: set[str] = set()
    while time.monotonic() - start < deadline:
        sent = one(url)
        if sent.ok and sent.node:
            seen.add(sent.node)
            if seen >= names:
                return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"not every node is in rotation after {deadline} s: saw {sorted(seen)}")
