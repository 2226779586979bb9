"""A deterministic snapshot source: fixed processes and byte counts, for tests, screenshots and a demo.

Nothing here is measured. Snapshots say ``backend="synthetic"`` and the app labels them SYNTHETIC.
Tick ``n`` always gives the same snapshot, so a screen fed ``n`` ticks is reproducible.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass

from netwatch_tui.model.snapshot import ByteCounts, Connection, ProcessStats, Snapshot, Traffic
from netwatch_tui.source import Deliver

BASE_TIME = 1_700_000_000.0
BACKEND = "synthetic"


@dataclass(frozen=True)
class FakeProcess:
    """A process that moves ``tx[n % len(tx)]`` / ``rx[n % len(rx)]`` bytes in tick ``n``."""

    pid: int
    name: str
    user: str
    cmdline: str
    tx: tuple[int, ...]
    rx: tuple[int, ...]
    conns: int = 1
    loopback: bool = False  # all of its traffic stays on the host
    start_time: float | None = BASE_TIME - 3600.0
    exits_at: int | None = None  # reported exited (alive False) in this tick, absent afterwards

    def moved(self, tick: int) -> ByteCounts:
        return self._counts(Traffic(self.tx[tick % len(self.tx)], self.rx[tick % len(self.rx)]))

    def total(self, tick: int) -> ByteCounts:
        """Bytes of ticks 0..tick, in closed form so a long demo stays cheap."""
        return self._counts(Traffic(_cumulative(self.tx, tick), _cumulative(self.rx, tick)))

    def _counts(self, traffic: Traffic) -> ByteCounts:
        return ByteCounts(traffic, traffic if self.loopback else Traffic())


def _cumulative(pattern: Sequence[int], tick: int) -> int:
    cycles, rest = divmod(tick + 1, len(pattern))
    return cycles * sum(pattern) + sum(pattern[:rest])


DEMO: tuple[FakeProcess, ...] = (
    FakeProcess(1, "systemd", "root", "/sbin/init", (0, 0, 120), (0, 0, 64)),
    FakeProcess(
        2421, "nginx", "www-data", "nginx: worker process", (140_000, 180_000, 90_000, 260_000), (3_400,), 2
    ),
    FakeProcess(
        30408,
        "curl",
        "alice",
        "curl -O https://example.com/debian.iso",
        (1_200,),
        (99_000, 140_000, 70_000, 120_000, 160_000),
    ),
    FakeProcess(
        4711,
        "firefox",
        "alice",
        "/usr/lib/firefox/firefox -contentproc -isForBrowser",
        (8_000, 2_000, 0, 12_000),
        (420_000, 60_000, 0, 0, 900_000, 30_000),
        14,
    ),
    FakeProcess(
        812,
        "postgres",
        "postgres",
        "postgres: 15/main: walwriter",
        (20_000, 22_000),
        (18_000,),
        3,
        loopback=True,
    ),
    FakeProcess(955, "sshd", "root", "sshd: alice@pts/0", (2_100, 900, 1_500), (300, 120), 1),
    FakeProcess(
        6020,
        "rsync",
        "backup",
        "rsync -a /srv/ backup@192.0.2.7:/srv/",
        (2_400_000, 2_600_000, 2_100_000),
        (9_000,),
        1,
    ),
    FakeProcess(
        640, "systemd-resolve", "systemd-resolve", "/lib/systemd/systemd-resolved", (0, 310), (0, 540)
    ),
    FakeProcess(
        7777, "wget", "bob", "wget http://192.0.2.9/file.tar", (400,), (50_000, 65_000), 1, exits_at=3
    ),
    FakeProcess(1203, "chronyd", "_chrony", "/usr/sbin/chronyd -F 1", (0, 0, 0, 48), (0, 0, 0, 48)),
)

HOSTILE: tuple[FakeProcess, ...] = (
    FakeProcess(6661, "[red]evil[/red]", "[b]root[/b]", "[link=x]click[/link] --flag", (5_000,), (7_000,)),
    FakeProcess(6662, "\x1b[2J\x1b[Hwipe", "mallory", "sh -c '\x1b]0;pwned\x07echo'", (4_000,), (1_000,)),
    FakeProcess(6663, "two\nlines", "eve\tx", "python3 -c 'print()'\r\nsecond", (3_000,), (2_000,)),
    FakeProcess(6664, "bad\udcff\udcfeutf8", "trudy", "/tmp/\udcc3\udc28run", (2_000,), (3_000,)),
    FakeProcess(6665, "\u202egnp.exe", "oscar", "zero\u200bwidth \u2028sep", (1_000,), (4_000,)),
)


def _connections(process: FakeProcess, tick: int) -> tuple[Connection, ...]:
    """Made-up sockets (documentation addresses) that split the process's totals between them."""
    count = max(1, min(process.conns, 6))
    total = process.total(tick).all
    share = Traffic(total.tx // count, total.rx // count)
    return tuple(
        Connection(
            protocol="UDP" if index == 2 else "TCP",
            local=f"10.0.0.5:{40000 + index}",
            remote=f"127.0.0.1:{5432 + index}" if process.loopback else f"192.0.2.{10 + index}:443",
            state="-" if index == 2 else "ESTABLISHED",
            traffic=share,
        )
        for index in range(count)
    )


def server_connections(count: int, received: int) -> list[Connection]:
    """A busy server's ``count`` connections on one port, the n-th having received ``received + n``
    bytes (benchmarks and tests of long connection lists)."""
    return [
        Connection(
            "TCP",
            "127.0.0.1:8080",
            f"127.0.0.1:{40_000 + index}",
            "ESTABLISHED",
            Traffic(0, received + index),
        )
        for index in range(count)
    ]


class SyntheticSource:
    """Plays the fixed processes tick by tick: every ``interval`` seconds, or as fast as the consumer
    takes them (``realtime=False``); stops after ``count`` snapshots if given."""

    description = "synthetic demo data (nothing is measured)"

    def __init__(
        self,
        processes: Sequence[FakeProcess] = DEMO,
        *,
        interval: float = 1.0,
        count: int | None = None,
        realtime: bool = True,
        live: bool = False,
    ) -> None:
        """``live``: the processes are real ones of this machine (tests of the kill dialog)."""
        self.live = live
        self._processes = tuple(processes)
        self.interval = interval
        self._count = count
        self._realtime = realtime
        self._lock = threading.Lock()
        self._watched: frozenset[int] = frozenset()

    def watch_connections(self, pids: frozenset[int]) -> None:
        with self._lock:
            self._watched = frozenset(pids)

    def snapshot(self, tick: int) -> Snapshot:
        """The snapshot of tick ``tick`` (0-based)."""
        with self._lock:
            watched = self._watched
        processes = tuple(
            ProcessStats(
                pid=process.pid,
                name=process.name,
                cmdline=process.cmdline,
                user=process.user,
                start_time=process.start_time,
                conns=process.conns,
                delta=process.moved(tick),
                total=process.total(tick),
                alive=process.exits_at != tick,
            )
            for process in self._processes
            if process.exits_at is None or tick <= process.exits_at
        )
        return Snapshot(
            time=BASE_TIME + tick * self.interval,
            interval=self.interval,
            backend=BACKEND,
            processes=processes,
            connections={p.pid: _connections(p, tick) for p in self._processes if p.pid in watched},
        )

    def run(self, deliver: Deliver, stop: threading.Event) -> None:
        tick = 0
        while not stop.is_set() and (self._count is None or tick < self._count):
            deliver(self.snapshot(tick))
            tick += 1
            if self._realtime:
                stop.wait(self.interval)
