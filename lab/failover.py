"""Two balancers, one virtual IP, under a steady load: the live one fails, later it comes back.

Used by tests/test_lab_virtual_ip.py (which asserts what must hold whatever the machine's speed)
and by `make measure` (which reports the figures). Nothing here is part of the program.

Faults (lab/site.py):
- `host`: the balancer that holds the VIP dies as a host does: its link goes down and all its
  processes are killed, without a word to its peer (which takes over after three missed adverts);
- `haproxy`: only HAProxy dies there; keepalived's health check sees it and hands the VIP over.
"""
from __future__ import annotations

import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Optional

from lab.load import Sent, steady_load, wait_all_in_rotation
from lab.site import LabSite

RATE, TIMEOUT = 20, 1.5            # requests/s through the VIP, each with a 1.5 s timeout
FAULT_AT, SECONDS = 2.0, 10.0      # the fault 2 s into a 10 s load


def wait_every_balancer_serves(balancers: list[dict], names: set[str]) -> None:
    """Until each balancer, asked at its own address, has sent a request to every node in `names`:
    each counts its own health checks, so the one without the VIP may still be taking a node in
    when the one with it already serves them all."""
    for balancer in balancers:
        wait_all_in_rotation(f"http://{balancer['address']}/", names)


def longest_silence(sent: list[Sent], since: float) -> float:
    """The longest time without an answer through the VIP after `since` (s into the load): answers
    arrive every 1/RATE s while all is well, so a failover shows as one long silence."""
    answered = sorted([since] + [s.at + s.seconds for s in sent if s.ok and s.at + s.seconds >= since])
    return max(b - a for a, b in zip(answered, answered[1:])) if len(answered) > 1 else float("inf")


class HolderWatch:
    """Who holds the VIP, polled beside a load: when it moved, to whom."""

    def __init__(self, site: LabSite, every: float = 0.02):
        self.site, self.every = site, every
        self.seen: list[tuple[float, Optional[str]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll)

    def _poll(self) -> None:
        start = time.monotonic()
        while not self._stop.is_set():
            holder = self.site.holder()
            if not self.seen or self.seen[-1][1] != holder:
                self.seen.append((time.monotonic() - start, holder))
            time.sleep(self.every)

    def __enter__(self) -> "HolderWatch":
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()

    def moved_at(self, to: str) -> Optional[float]:
        return next((t for t, holder in self.seen if holder == to), None)


@dataclass
class Failover:
    fault: str
    victim: str                    # the balancer that held the VIP
    holder_after: Optional[str]    # who holds it at the end of the load
    sent: list[Sent]
    vip_moved_after: Optional[float] = None   # s from the fault until another balancer had the VIP

    @property
    def silence(self) -> float:
        return longest_silence(self.sent, FAULT_AT - 0.5)

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)

    @property
    def failed_in_last_seconds(self) -> int:
        """Failures in the last 4 s of the load: none once the VIP has moved."""
        return sum(not s.ok for s in self.sent if s.at >= SECONDS - 4.0)


@dataclass
class Return:
    returned: str
    holder_after: Optional[str]
    sent: list[Sent]

    @property
    def silence(self) -> float:
        return longest_silence(self.sent, 0.0)

    @property
    def failed(self) -> int:
        return sum(not s.ok for s in self.sent)


def fail_live_balancer(site: LabSite, url: str, fault: str = "host") -> Failover:
    victim = site.holder()
    assert victim, "no balancer holds the virtual IP"

    def kill() -> None:
        if fault == "host":
            site.cut_off(victim)
        else:
            site.on_host(victim, 'kill -KILL $(cat /run/haproxy/haproxy.pid)')

    with HolderWatch(site) as watch, aside() as later:
        sent = steady_load(url, RATE, SECONDS, [(FAULT_AT, lambda: later(kill))], timeout=TIMEOUT)
    holder = site.holder()
    moved = watch.moved_at(holder) if holder and holder != victim else None
    # the watch started a moment before the load: its clock is at most that moment ahead
    return Failover(fault, victim, holder, sent, None if moved is None else moved - FAULT_AT)


def bring_back(site: LabSite, url: str, failed: Failover, seconds: float = 8.0) -> Return:
    """The failed balancer comes back (rebooted, or HAProxy restarted) 0.5 s into a load of
    `seconds`, long enough for its keepalived to be up and to take the VIP back if it would."""
    def back() -> None:
        if failed.fault == "host":
            site.boot(failed.victim)
        else:
            site.on_host(failed.victim, "lab-haproxy-reload")

    with aside() as later:
        sent = steady_load(url, RATE, seconds, [(0.5, lambda: later(back))], timeout=TIMEOUT)
    return Return(failed.victim, site.holder(), sent)


@contextmanager
def aside() -> Iterator[Callable[[Callable[[], None]], None]]:
    """Runs a fault or a repair beside the load (it may take a while: the load's schedule must not
    wait for it); its error, if any, is raised once the load is over."""
    threads: list[threading.Thread] = []
    errors: list[BaseException] = []

    def run(action: Callable[[], None]) -> None:
        def guarded() -> None:
            try:
                action()
            except BaseException as error:  # noqa: B902 - re-raised below, in the caller's thread
                errors.append(error)
        threads.append(threading.Thread(target=guarded))
        threads[-1].start()

    yield run
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def single_balancer_down(site: LabSite, url: str, name: str, dead_for: float = 4.0) -> list[Sent]:
    """The comparison: one balancer and no VIP; it dies FAULT_AT s into the load and is back
    `dead_for` s later (a reboot as fast as the lab's)."""
    with aside() as later:
        return steady_load(url, RATE, SECONDS, [(FAULT_AT, lambda: later(lambda: site.cut_off(name))),
                                                (FAULT_AT + dead_for, lambda: later(lambda: site.boot(name)))],
                           timeout=TIMEOUT)
