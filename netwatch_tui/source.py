"""What produces snapshots: the live probe, a replay file, or a synthetic generator in tests."""

from __future__ import annotations

import threading
from typing import Callable, Protocol

from netwatch_tui.model.snapshot import Snapshot

Deliver = Callable[[Snapshot], None]


class SnapshotSource(Protocol):
    """A producer of snapshots, run by the worker thread.

    ``run`` does its slow set-up (such as compiling BPF) inside the worker thread, then calls
    ``deliver`` once per interval until ``stop`` is set or the source runs out. It raises
    :class:`netwatch_tui.errors.NetwatchError` for failures a user can fix, and releases
    everything it holds (BPF programs included) before it returns or raises.
    """

    description: str
    # Whether the processes shown are this machine's, now: only then can one be killed from the view.
    live: bool
    # The interval asked for, which the status line shows; None: each snapshot's own (a replay's).
    interval: float | None

    def run(self, deliver: Deliver, stop: threading.Event) -> None: ...

    def watch_connections(self, pids: frozenset[int]) -> None:
        """From the next snapshot on, fill ``Snapshot.connections`` for these pids (thread-safe)."""
        ...
