"""Shared helpers for the TUI tests: a deterministic app, and waiting for it to settle."""

from __future__ import annotations

import asyncio
import inspect
import os
import time
from collections.abc import Iterator, Sequence
from typing import Callable

import pytest
from textual.pilot import Pilot

from netwatch_tui.app import NetwatchApp
from netwatch_tui.messages import SnapshotReady
from netwatch_tui.synthetic import DEMO, FakeProcess, SyntheticSource

TICKS = 5  # snapshots the synthetic source gives the test apps


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> bool | None:
    """Run ``async def`` tests (Pilot tests) in a fresh event loop, without an async plugin."""
    if not inspect.iscoroutinefunction(pyfuncitem.obj):
        return None
    arguments = {name: pyfuncitem.funcargs[name] for name in pyfuncitem._fixtureinfo.argnames}
    asyncio.run(pyfuncitem.obj(**arguments))
    return True


@pytest.fixture(autouse=True, scope="session")
def utc() -> Iterator[None]:
    """Start times are shown in local time: pin the zone so screenshots do not depend on the host."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "UTC"
    time.tzset()
    yield
    if previous is None:
        del os.environ["TZ"]
    else:
        os.environ["TZ"] = previous
    time.tzset()


def synthetic_app(
    processes: Sequence[FakeProcess] = DEMO, ticks: int = TICKS, live: bool = False
) -> NetwatchApp:
    """An app fed ``ticks`` synthetic snapshots as fast as it takes them; the source then ends.
    ``live``: the processes are real ones (the kill dialog is offered only for those)."""
    return NetwatchApp(SyntheticSource(processes, count=ticks, realtime=False, live=live))


async def wait_until(pilot: Pilot, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("the app did not reach the expected state in time")
        await pilot.pause(0.02)


async def feed(pilot: Pilot, *ticks: int) -> None:
    """Hand the app more snapshots of its synthetic source, as the worker would, and wait for them."""
    app = pilot.app
    assert isinstance(app, NetwatchApp) and isinstance(app.source, SyntheticSource)
    source = app.source
    target = app.received + len(ticks)
    for tick in ticks:
        app.post_message(SnapshotReady(source.snapshot(tick)))
    await wait_until(pilot, lambda: app.received == target)
    await pilot.pause()


async def settled(pilot: Pilot) -> None:
    """Wait until the app has shown every snapshot of its synthetic source and seen it end."""
    app = pilot.app
    assert isinstance(app, NetwatchApp)
    await wait_until(pilot, lambda: app.state.finished)
    await pilot.pause()
