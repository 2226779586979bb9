"""Cumulative kernel counters to per-interval deltas: each byte reported once, pid reuse apart."""

from __future__ import annotations

from netwatch_tui.model.accounting import Accountant
from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.model.snapshot import ByteCounts, Traffic


def reading(
    tgid: int, tx: int, rx: int, first_ns: int = 100, exited: bool = False, lo: int = 0
) -> ProcessCounters:
    counts = ByteCounts(all=Traffic(tx, rx), loopback=Traffic(lo, lo))
    return ProcessCounters(tgid, first_ns, "comm", 0, counts, exited)


def deltas(accountant: Accountant, *readings: ProcessCounters) -> list[tuple[int, Traffic]]:
    return [(d.reading.tgid, d.delta.all) for d in accountant.advance(readings)]


def test_first_reading_is_all_new_then_differences() -> None:
    accountant = Accountant()
    assert deltas(accountant, reading(7, 100, 10)) == [(7, Traffic(100, 10))]
    assert deltas(accountant, reading(7, 150, 10)) == [(7, Traffic(50, 0))]
    assert deltas(accountant, reading(7, 150, 10)) == [(7, Traffic(0, 0))]


def test_subsets_are_differenced_too() -> None:
    accountant = Accountant()
    accountant.advance([reading(7, 100, 100, lo=40)])
    (delta,) = accountant.advance([reading(7, 200, 200, lo=90)])
    assert delta.delta.loopback == Traffic(50, 50)


def test_exited_reading_consumes_the_baseline() -> None:
    accountant = Accountant()
    accountant.advance([reading(7, 100, 10)])
    assert deltas(accountant, reading(7, 130, 12, exited=True)) == [(7, Traffic(30, 2))]
    # A new process on the same pid is a new identity: counted from zero.
    assert deltas(accountant, reading(7, 5, 5, first_ns=999)) == [(7, Traffic(5, 5))]


def test_process_missing_from_one_read_is_not_counted_twice() -> None:
    """Between reading `exited` and `procs`, a process can move from one map to the other."""
    accountant = Accountant()
    accountant.advance([reading(7, 100, 10)])
    assert deltas(accountant) == []
    assert deltas(accountant, reading(7, 120, 10, exited=True)) == [(7, Traffic(20, 0))]


def test_reused_pid_in_the_same_read_keeps_both_apart() -> None:
    accountant = Accountant()
    accountant.advance([reading(7, 100, 0, first_ns=1)])
    result = deltas(accountant, reading(7, 110, 0, first_ns=1, exited=True), reading(7, 3, 0, first_ns=2))
    assert result == [(7, Traffic(10, 0)), (7, Traffic(3, 0))]


def test_process_judged_gone_just_before_its_exit_is_not_counted_twice() -> None:
    """Read live, the process exits (its entry moves to `exited`), user space finds a zombie and
    removes the live entry that is no longer there: the exited reading still has a baseline."""
    accountant = Accountant()
    accountant.advance([reading(7, 100, 0)])
    assert deltas(accountant, reading(7, 100, 50, exited=True)) == [(7, Traffic(0, 50))]


def test_baselines_of_vanished_processes_are_dropped_after_the_grace_reads() -> None:
    accountant = Accountant(grace_reads=2)
    accountant.advance([reading(7, 100, 0)])
    accountant.advance([])
    accountant.advance([])
    assert deltas(accountant, reading(7, 100, 0)) == [(7, Traffic(100, 0))]


def test_processes_named_unchanged_keep_their_baselines_past_the_grace_reads() -> None:
    accountant = Accountant(grace_reads=2)
    accountant.advance([reading(7, 100, 0)])
    for _ in range(4):
        assert accountant.advance([], unchanged=[(7, 100)]) == []
    assert deltas(accountant, reading(7, 130, 0)) == [(7, Traffic(30, 0))]


def test_grace_reads_count_from_the_last_read_that_saw_the_process() -> None:
    """Unchanged for a while, then missing: the grace starts when it goes missing, not before."""
    accountant = Accountant(grace_reads=3)
    accountant.advance([reading(7, 100, 0)])
    for _ in range(5):
        accountant.advance([], unchanged=[(7, 100)])
    accountant.advance([])
    accountant.advance([])
    assert deltas(accountant, reading(7, 100, 40, exited=True)) == [(7, Traffic(0, 40))]
    accountant.advance([reading(8, 1, 0)])
    for _ in range(3):
        accountant.advance([])
    assert deltas(accountant, reading(8, 1, 0)) == [(8, Traffic(1, 0))]  # dropped after the grace
