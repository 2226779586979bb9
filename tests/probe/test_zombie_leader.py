"""A process whose main thread has exited while another thread goes on (its leader is a zombie in
/proc) is alive: shown once, its bytes exact, reported gone once, when it really exits."""

from __future__ import annotations

import subprocess
import sys

from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun, totals_by_pid

pytestmark = requires_bpf

SENDS = 20
SIZE = 100
# The main thread leaves with pthread_exit (ctypes releases the GIL first, so the other thread runs
# on); the worker moves SENDS datagrams of SIZE bytes to itself over 2 s, then ends the process.
_CHILD = f"""
import ctypes, os, socket, sys, threading, time
def worker():
    a = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); a.bind(("127.0.0.1", 0))
    b = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); b.connect(a.getsockname())
    for _ in range({SENDS}):
        b.send(b"x" * {SIZE}); a.recv(2 * {SIZE}); time.sleep(0.1)
    os._exit(0)
threading.Thread(target=worker).start()
ctypes.CDLL(None).pthread_exit(None)
"""


def test_a_process_whose_main_thread_exited_is_still_alive() -> None:
    run = NetwatchRun("--format", "json", "--interval", "0.3")
    try:
        run.next_record(timeout=60)
        child = subprocess.Popen([sys.executable, "-c", _CHILD])
        assert child.wait(timeout=30) == 0
        records = run.records_after()
    finally:
        status, errors = run.stop()
    assert (status, errors) == (0, "")
    appearances = [p for record in records for p in record["processes"] if p["pid"] == child.pid]
    gone = [p for p in appearances if not p["alive"]]
    assert len(gone) == 1, f"reported gone {len(gone)} times"
    assert appearances[-1] is gone[0], "nothing is shown of it after it is gone"
    assert totals_by_pid(records)[child.pid] == (SENDS * SIZE, SENDS * SIZE)
