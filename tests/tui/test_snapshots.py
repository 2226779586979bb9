"""Screenshots (SVG) of the main screens, compared with the accepted ones in __snapshots__/.

Regenerate after an intended change with ``pytest tests/tui/test_snapshots.py --snapshot-update`` and
look at the report before committing. Every screen is fed a fixed number of synthetic snapshots and
waits for the source to end, so nothing depends on the clock or on timing.
"""

from __future__ import annotations

from typing import Any, Callable

from textual.pilot import Pilot

from netwatch_tui.app import NetwatchApp
from netwatch_tui.synthetic import DEMO, HOSTILE
from netwatch_tui.widgets.kill_dialog import KillDialog

from .conftest import TICKS, feed, settled, synthetic_app

SnapCompare = Callable[..., bool]


def test_main_screen(snap_compare: SnapCompare) -> None:
    assert snap_compare(synthetic_app(), terminal_size=(130, 24), run_before=settled)


def test_narrow_terminal_hides_low_priority_columns(snap_compare: SnapCompare) -> None:
    assert snap_compare(synthetic_app(), terminal_size=(60, 20), run_before=settled)


def test_hostile_names_are_shown_literally(snap_compare: SnapCompare) -> None:
    async def by_pid(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("p")

    assert snap_compare(synthetic_app(DEMO + HOSTILE), terminal_size=(130, 24), run_before=by_pid)


def test_detail_view(snap_compare: SnapCompare) -> None:
    async def open_firefox(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("slash", *"firefox", "enter", "enter")
        await feed(pilot, TICKS)  # the detail asked for connections: they come with the next snapshot
        await pilot.app.workers.wait_for_complete()  # the cgroup, read in a thread
        await pilot.pause()

    assert snap_compare(synthetic_app(), terminal_size=(100, 34), run_before=open_firefox)


def test_kill_dialog(snap_compare: SnapCompare) -> None:
    """Opened directly: the real `k` path needs a live process, whose pid would differ on every run."""

    async def open_dialog(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        app = pilot.app
        assert isinstance(app, NetwatchApp) and app.state.frame is not None
        row = app.state.frame.row(30408)
        assert row is not None
        app.push_screen(KillDialog(row, "TX 1.2 KiB/s   RX 156.2 KiB/s"))
        await pilot.pause()

    assert snap_compare(synthetic_app(), terminal_size=(100, 24), run_before=open_dialog)


def test_help_screen(snap_compare: SnapCompare) -> None:
    async def open_help(pilot: Pilot[Any]) -> None:
        await settled(pilot)
        await pilot.press("question_mark")

    assert snap_compare(synthetic_app(), terminal_size=(100, 40), run_before=open_help)
