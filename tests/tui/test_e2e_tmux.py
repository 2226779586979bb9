"""End to end in a real terminal: tmux runs ``netwatch`` on the live probe, a child moves bytes over
loopback, the screen shows its pid with a rate, and ``/pid`` + ``k`` + Enter ends it. Also: a closed
terminal ends netwatch, and an error in the probe worker ends it with the terminal restored."""

from __future__ import annotations

import os
import re
import shlex
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Callable

import psutil
import pytest

from tests.bpf_programs import loaded_program_ids, program_ids_held_by, still_loaded
from tests.failing_netwatch import FAILURE
from tests.markers import requires_bpf, requires_root, requires_tmux
from tests.netwatch_run import ROOT, netwatch_command

pytestmark = [requires_root, requires_bpf, requires_tmux]

NETWATCH = Path(sys.executable).with_name("netwatch")
CHILD = Path(__file__).with_name("loopback_traffic.py")
RATE = re.compile(r"(\d+(?:\.\d+)?) (?:[KMGTP]i)?B/s")
# Terminal modes a full-screen app changes, as tmux reports them for a pane nothing has touched.
UNTOUCHED_MODES = {
    "alternate_on": "0",
    "cursor_flag": "1",
    "wrap_flag": "1",
    "insert_flag": "0",
    "origin_flag": "0",
    "keypad_flag": "0",
    "keypad_cursor_flag": "0",
    "mouse_standard_flag": "0",
    "mouse_button_flag": "0",
    "mouse_any_flag": "0",
    "mouse_all_flag": "0",
    "mouse_sgr_flag": "0",
    "mouse_utf8_flag": "0",
}


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

    def modes(self) -> dict[str, str]:
        """The pane's terminal modes named in UNTOUCHED_MODES (alternate screen, cursor, mouse...)."""
        names = list(UNTOUCHED_MODES)
        result = subprocess.run(
            ["tmux", "display-message", "-p", "-t", self.name, " ".join(f"#{{{name}}}" for name in names)],
            capture_output=True,
            text=True,
            check=True,
        )
        return dict(zip(names, result.stdout.split()))

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
    _shell, *below = terminal.processes()
    netwatch = next(process for process in below if "netwatch" in " ".join(process.cmdline()))
    assert not [area.path for area in netwatch.memory_maps() if "ssl" in area.path]  # see no_tls.py
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


def test_a_pid_filter_shows_that_process_alone_and_says_so(traffic: subprocess.Popen[bytes]) -> None:
    pid = traffic.pid
    session = Terminal(f"netwatch-pid-{os.getpid()}", f"{NETWATCH} --interval 0.5 --pid {pid}; sleep 30")
    try:
        screen = session.wait_for(_row_with_rate(pid), timeout=60)
        status = screen.splitlines()[1]
        assert f"only pid {pid}" in status and "1 process" in status, status
        rows = [line for line in screen.splitlines()[3:] if re.match(r"\s*\d+\s", line)]
        assert [int(line.split()[0]) for line in rows] == [pid]
    finally:
        session.close()


def test_ctrl_z_suspends_to_the_shell_and_fg_brings_it_back() -> None:
    """As htop: Ctrl-Z gives the terminal back to the shell, as it was; fg resumes the live view."""
    terminal = Terminal(f"netwatch-e2e-suspend-{os.getpid()}", "bash --norc --noprofile -i")
    try:
        terminal.keys(f"PS1='prompt$ '; {NETWATCH} --interval 0.5", "Enter")  # alone: fg resumes it alone
        terminal.wait_for(lambda s: "TX/s" in s, timeout=60)
        terminal.keys("C-z")
        terminal.wait_for(lambda s: "Stopped" in s and s.rstrip().endswith("prompt$"), timeout=15)
        assert terminal.modes() == UNTOUCHED_MODES
        terminal.keys("fg", "Enter")
        terminal.wait_for(lambda s: "TX/s" in s and "every 0.5 s" in s, timeout=15)
        terminal.keys("q")
        terminal.wait_for(lambda s: s.rstrip().endswith("prompt$") and "TX/s" not in s, timeout=15)
        terminal.keys("echo netwatch exited $?", "Enter")
        terminal.wait_for(lambda s: "netwatch exited 0" in s, timeout=15)
        assert terminal.modes() == UNTOUCHED_MODES
    finally:
        terminal.close()


def test_closing_the_terminal_ends_netwatch(terminal: Terminal) -> None:
    """SIGHUP from a vanished terminal must end netwatch, not leave it spinning on a dead tty."""
    terminal.wait_for(lambda s: "TX/s" in s, timeout=60)
    running = terminal.processes()
    terminal.close()
    _, alive = psutil.wait_procs(running, timeout=10)
    assert not alive, f"still running after the terminal closed: {alive}"


def test_sighup_with_the_terminal_still_there_restores_it(tmp_path: Path) -> None:
    """`kill -HUP` from another shell: netwatch ends at once, as SIGHUP ends a process, but leaves the
    terminal as it found it (it stayed on the alternate screen, raw, with mouse reporting on)."""
    before, after = (shlex.quote(str(tmp_path / f"stty.{when}")) for when in ("before", "after"))
    command = (
        f"stty -g > {before}; {NETWATCH} --interval 0.5; status=$?; stty -g > {after}; "
        "echo netwatch exited $status; sleep 30"
    )
    terminal = Terminal(f"netwatch-e2e-hup-{os.getpid()}", command)
    try:
        terminal.wait_for(lambda s: "TX/s" in s, timeout=60)
        [netwatch] = [p for p in terminal.processes() if p.exe() == os.path.realpath(sys.executable)]
        ours = program_ids_held_by(netwatch.pid)
        assert len(ours) >= 5 and terminal.modes() != UNTOUCHED_MODES
        netwatch.send_signal(signal.SIGHUP)
        terminal.wait_for(lambda s: "netwatch exited 129" in s, timeout=20)  # 128 + SIGHUP
        assert terminal.modes() == UNTOUCHED_MODES
        assert (tmp_path / "stty.after").read_text() == (tmp_path / "stty.before").read_text()
        assert not still_loaded(ours), "a program outlived netwatch"
    finally:
        terminal.close()


@pytest.fixture
def failing_terminal(tmp_path: Path) -> Iterator[tuple[Terminal, Path]]:
    """netwatch in tmux with a bug planted in its probe worker, set off by creating the returned path.

    The pane keeps the terminal settings (``stty -g``) from before and after netwatch in tmp_path,
    then reads one typed line and echoes it: proof that a user could go on typing at the prompt.
    """
    trigger = tmp_path / "fail now"
    netwatch = netwatch_command(str(trigger), "--interval", "0.5", module="tests.failing_netwatch")
    before, after = (shlex.quote(str(tmp_path / f"stty.{when}")) for when in ("before", "after"))
    command = (
        f"cd {shlex.quote(str(ROOT))} && stty -g > {before}; {shlex.join(netwatch)}; "
        f"status=$?; stty -g > {after}; echo netwatch exited $status; "
        'read -r line; echo "read: $line"; sleep 30'
    )
    session = Terminal(f"netwatch-e2e-failure-{os.getpid()}", command)
    yield session, trigger
    session.close()


def test_worker_exception_ends_the_tui_and_restores_the_terminal(
    failing_terminal: tuple[Terminal, Path], tmp_path: Path
) -> None:
    terminal, trigger = failing_terminal
    terminal.wait_for(lambda s: "tracepoints" in s or "kprobes" in s, timeout=60)  # a snapshot is shown
    [netwatch] = [p for p in terminal.processes() if "tests.failing_netwatch" in p.cmdline()]
    ours = program_ids_held_by(netwatch.pid)
    assert len(ours) >= 5 and ours <= loaded_program_ids()  # send, recv, close, exit, exec at least
    running_modes = terminal.modes()
    assert running_modes["alternate_on"] == "1" and running_modes != UNTOUCHED_MODES
    trigger.touch()
    screen = terminal.wait_for(lambda s: "netwatch exited" in s, timeout=20)
    # Back on the normal screen, where only netwatch's one line and the shell's words are left.
    said = [
        f"netwatch: the probe failed: RuntimeError: {FAILURE}",
        "netwatch exited 1",
    ]
    assert [line for line in screen.splitlines() if line.strip()] == said
    assert not psutil.pid_exists(netwatch.pid)
    assert not still_loaded(ours), "a program outlived netwatch"
    assert terminal.modes() == UNTOUCHED_MODES
    assert (tmp_path / "stty.after").read_text() == (tmp_path / "stty.before").read_text()
    terminal.keys("typed after netwatch", "Enter")  # echoed as typed, and read as one line
    screen = terminal.wait_for(lambda s: "read: " in s, timeout=10)
    typed = ["typed after netwatch", "read: typed after netwatch"]
    assert [line for line in screen.splitlines() if line.strip()] == said + typed
