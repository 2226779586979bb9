from __future__ import annotations

from netwatch_tui.model.schedule import StaggeredSchedule


def test_each_item_is_due_once_per_period() -> None:
    schedule = StaggeredSchedule(3.0, seed=1)
    assert schedule.due("a", 0.0)  # first sight: due at once
    turns = [t / 10 for t in range(1, 100) if schedule.due("a", t / 10)]
    assert turns[0] <= 3.0  # the second turn falls somewhere in the first period
    assert all(later - earlier >= 2.9 for earlier, later in zip(turns, turns[1:]))  # then one per period
    assert len(turns) in (3, 4)


def test_new_items_are_spread_over_the_period() -> None:
    schedule = StaggeredSchedule(3.0, seed=2)
    for item in range(300):
        schedule.due(item, 0.0)
    due_after_one_second = sum(schedule.due(item, 1.0) for item in range(300))
    assert 60 < due_after_one_second < 140  # about a third, not all or none


def test_forgotten_items_start_over() -> None:
    schedule = StaggeredSchedule(3.0, seed=3)
    schedule.due("a", 0.0)
    schedule.keep_only([])
    assert schedule.due("a", 0.1)
