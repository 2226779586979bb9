from __future__ import annotations

from netwatch_tui.model.schedule import StaggeredSchedule


def test_each_item_is_due_once_per_period() -> None:
    schedule = StaggeredSchedule(3.0, seed=1)
    assert schedule.take_due({"a"}, 0.0) == {"a"}  # first sight: due at once
    turns = [t / 10 for t in range(1, 100) if schedule.take_due({"a"}, t / 10)]
    assert turns[0] <= 3.0  # the second turn falls somewhere in the first period
    assert all(later - earlier >= 2.9 for earlier, later in zip(turns, turns[1:]))  # then one per period
    assert len(turns) in (3, 4)


def test_new_items_are_spread_over_the_period() -> None:
    schedule = StaggeredSchedule(3.0, seed=2)
    items = set(range(300))
    assert schedule.take_due(items, 0.0) == items
    due_after_one_second = len(schedule.take_due(items, 1.0))
    assert 60 < due_after_one_second < 140  # about a third, not all or none
    due_by_three_seconds = due_after_one_second + len(schedule.take_due(items, 3.0))
    assert due_by_three_seconds == 300  # and every one within the period


def test_forgotten_items_start_over() -> None:
    schedule = StaggeredSchedule(3.0, seed=3)
    schedule.take_due({"a", "b"}, 0.0)
    assert schedule.take_due({"b"}, 0.1) <= {"b"}  # "a" is gone, and forgotten
    assert "a" in schedule.take_due({"a", "b"}, 0.2)  # back: new, so due at once


def test_a_keys_view_serves_as_the_items() -> None:
    schedule = StaggeredSchedule(3.0, seed=4)
    live = {1: "x", 2: "y"}
    assert schedule.take_due(live.keys(), 0.0) == {1, 2}
    del live[1]
    assert schedule.take_due(live.keys(), 10.0) == {2}
