from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from netwatch_tui.process_info import ProcessInfoCache, start_time, user_name


def now_ns() -> int:
    return time.monotonic_ns()


def test_describes_a_live_process() -> None:
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)", "marker-arg"])
    try:
        time.sleep(0.1)
        info = ProcessInfoCache().lookup(child.pid, now_ns())
        assert info is not None
        assert "marker-arg" in info.cmdline
        assert info.user == psutil.Process().username()
        assert info.start_time == psutil.Process(child.pid).create_time()
    finally:
        child.kill()
        child.wait()


def test_gone_process_is_none() -> None:
    child = subprocess.Popen(["true"])
    child.wait()
    assert ProcessInfoCache().lookup(child.pid, now_ns()) is None


def test_reused_pid_is_not_mistaken_for_its_predecessor() -> None:
    """The kernel saw pid P's traffic long before the process now holding P was started."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        time.sleep(0.1)
        long_ago = now_ns() - 60 * 10**9
        assert ProcessInfoCache().lookup(child.pid, long_ago) is None
    finally:
        child.kill()
        child.wait()


def test_cache_is_keyed_by_pid_and_start_time() -> None:
    cache = ProcessInfoCache()
    first = cache.lookup(os.getpid(), now_ns())
    cache.keep_only([os.getpid()])
    assert cache.lookup(os.getpid(), now_ns()) is first
    cache.keep_only([])
    assert cache.lookup(os.getpid(), now_ns()) is not first


def test_a_cached_process_with_another_start_time_is_described_afresh() -> None:
    """A pid reused since it was cached: the entry holds the predecessor's start time."""
    cache = ProcessInfoCache()
    first = cache.lookup(os.getpid(), now_ns())
    assert first is not None
    predecessor = first._replace(name="predecessor", start_time=first.start_time - 100)
    cache._cache[os.getpid()] = (predecessor, 0)
    found = cache.lookup(os.getpid(), now_ns())
    assert found == first and found is not predecessor


def test_a_process_that_ran_another_program_is_described_afresh() -> None:
    """Same pid, same start time, another program: the exec count the kernel keeps tells it apart."""
    script = "import os, sys; sys.stdin.readline(); os.execv('/bin/sleep', ['sleep', '30'])"
    child = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE)
    try:
        cache = ProcessInfoCache()
        seen = now_ns()
        before = cache.lookup(child.pid, seen)
        assert before is not None and before.name.startswith("python")
        assert child.stdin is not None
        child.stdin.write(b"go\n")
        child.stdin.flush()
        deadline = time.monotonic() + 10
        while psutil.Process(child.pid).name() != "sleep" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert cache.lookup(child.pid, seen) is before  # asked as before the exec: kept
        after = cache.lookup(child.pid, seen, execs=1)
        assert after is not None and (after.name, after.cmdline) == ("sleep", "sleep 30")
        assert after.start_time == before.start_time
        assert cache.lookup(child.pid, seen, execs=1) is after
    finally:
        child.kill()
        child.wait()


def test_start_time_matches_psutil() -> None:
    assert start_time(os.getpid()) == pytest.approx(psutil.Process().create_time(), abs=0.01)
    assert start_time(2**22 + 1) is None


def test_user_name_falls_back_to_the_number() -> None:
    assert user_name(0) == "root"
    assert user_name(4_000_000_000) == "4000000000"
