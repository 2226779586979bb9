"""End to end in a real terminal: tmux runs ``netwatch`` on the live probe, a child moves bytes over
loopback, the screen shows its pid with a rate, and ``/pid`` + ``k`` + Enter ends it."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import psutil
import pytest

from tests.markers import requires_bpf, requires_root, requires_tmux

pytestmark = [requires_root, requires_bpf, requires_tmux]

NETWATCH = Path(sys.executable).with_name("netwatch")
CHILD = Path(__file__).with_name("loopback_traffic.py")
RATE = re.compile(r"(\d+(?:\.\d+)?) (?:[KMGTP]i)?B/s")


class Terminal:
    """One tmux session of a fixed size."""

    def __init__(self, name: str, command: str) -> None:
        self.name = name
        subprocess.run(
            ["tmux", "new-session", "-d", "-s", name, "-x", "160", "-y", "40", command],
            check=True,
            env={**os.environ, "TERM": "xterm-256color"},
        )

    def screen(self) -> str:
        result = subprocess.run(
            ["tmux", "capture-pane", "-p", "-t", self.name], capture_output=True, text=True
        )
        return result.stdout

    def keys(self, *keys: str) -> None:
        subprocess.run(["tmux", "send-keys", "-t", self.name, *keys], check=True)

    def wait_for(self, condition: Callable[[str], bool], timeout: float = 30.0) -> str:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            screen = self.screen()
            if condition(screen):
                return screen
            time.sleep(0.2)
        raise AssertionError(f"the screen never showed what was expected; last screen:\n{self.screen()}")

    def processes(self) -> list[psutil.Process]:
        """What runs in the pane: its shell and everything below it."""
        result = subprocess.run(
            ["tmux", "list-panes", "-t", self.name, "-F", "#{pane_pid}"],
            capture_output=True,
            text=True,
            check=True,
        )
        shell = psutil.Process(int(result.stdout.split()[0]))
        return [shell, *shell.children(recursive=True)]

    def close(self) -> None:
        subprocess.run(["tmux", "kill-session", "-t", self.name], capture_output=True)


@pytest.fixture
def traffic() -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen([sys.executable, str(CHILD), "60"])
    yield child
    if child.poll() is None:
        os.kill(child.pid, signal.SIGKILL)
    child.wait(timeout=10)


@pytest.fixture
def terminal() -> Iterator[Terminal]:
    # Textual draws on stderr, so it stays on the terminal; after netwatch the pane says how it ended
    # and stays open, so an error line it printed can still be read.
    command = f"{NETWATCH} --interval 0.5; echo netwatch exited $?; sleep 30"
    session = Terminal(f"netwatch-e2e-{os.getpid()}", command)
    yield session
    session.close()


def _row_with_rate(pid: int) -> Callable[[str], bool]:
    def shows(screen: str) -> bool:
        for line in screen.splitlines():
            if re.match(rf"\s*{pid}\s", line):
                return any(float(value) > 0 for value in RATE.findall(line))
        return False

    return shows


def test_live_netwatch_shows_a_process_and_kills_it(
    terminal: Terminal, traffic: subprocess.Popen[bytes]
) -> None:
    pid = traffic.pid
    terminal.wait_for(_row_with_rate(pid), timeout=60)
    terminal.keys("/", str(pid), "Enter")
    screen = terminal.wait_for(lambda s: f"filter “{pid}”" in s)
    assert "tracepoints" in screen or "kprobes" in screen  # the real probe, not a synthetic source
    terminal.keys("k")
    terminal.wait_for(lambda s: f"Send a signal to pid {pid}?" in s)
    terminal.keys("Enter")
    assert traffic.wait(timeout=15) == -signal.SIGTERM
    terminal.wait_for(lambda s: f"sent SIGTERM to pid {pid}" in s)
    terminal.keys("q")
    terminal.wait_for(lambda s: "netwatch exited 0" in s, timeout=15)


def test_closing_the_terminal_ends_netwatch(terminal: Terminal) -> None:
    """SIGHUP from a vanished terminal must end netwatch, not leave it spinning on a dead tty."""
    terminal.wait_for(lambda s: "TX/s" in s, timeout=60)
    running = terminal.processes()
    terminal.close()
    _, alive = psutil.wait_procs(running, timeout=10)
    assert not alive, f"still running after the terminal closed: {alive}"
