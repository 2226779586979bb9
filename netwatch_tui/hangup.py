"""SIGHUP in the TUI: the terminal put back as it was, then the end SIGHUP's default action gives.

No graceful exit (as for SIGTERM): when the terminal itself went away, Textual's input thread then
spins on the hung-up tty forever. But ending at once left a terminal that is still there (``kill -HUP``
from another shell) on the alternate screen, raw, its cursor hidden and mouse reporting on. So the
terminal is restored first, without Textual, each step failing harmlessly on a tty that is gone;
then the process ends. Nothing is lost: the kernel detaches BPF programs when their fds close.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import termios
from typing import Any

# What Textual's driver undoes when it stops (textual/drivers/linux_driver.py), in its order.
LEAVE_APPLICATION_MODE = (
    b"\x1b[?2004l"  # bracketed paste off
    b"\x1b[?7h"  # line wrap on
    b"\x1b[?1000l\x1b[?1003l\x1b[?1015l\x1b[?1006l"  # mouse reporting off
    b"\x1b[<u"  # the Kitty keyboard protocol off
    b"\x1b[?1049l"  # back to the normal screen
    b"\x1b[?25h"  # cursor shown
    b"\x1b[?1004l"  # focus reports off
)


class HangUp:
    """Made before the app takes the terminal (it keeps its settings then); called on SIGHUP."""

    def __init__(self) -> None:
        self._attributes: list[Any] | None = None
        with contextlib.suppress(termios.error, OSError, AttributeError, ValueError):  # no terminal
            self._attributes = termios.tcgetattr(sys.__stdin__.fileno())

    def __call__(self) -> None:
        if self._attributes is not None:
            with contextlib.suppress(termios.error, OSError):
                termios.tcsetattr(sys.__stdin__.fileno(), termios.TCSANOW, self._attributes)
        with contextlib.suppress(OSError):
            os.write(sys.__stderr__.fileno(), LEAVE_APPLICATION_MODE)  # where Textual draws
        signal.signal(signal.SIGHUP, signal.SIG_DFL)
        os.kill(os.getpid(), signal.SIGHUP)
