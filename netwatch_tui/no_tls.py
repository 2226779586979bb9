"""Keep OpenSSL out of the TUI's process: nothing in netwatch speaks TLS.

asyncio, which Textual runs on, imports ``ssl`` whenever it can, and loading OpenSSL's libraries
adds 4.4 MB to the RSS of a process that never opens a TLS connection: a tenth of the TUI's memory
budget. Marked absent in ``sys.modules``, ``import ssl`` raises ImportError, and asyncio takes its
own no-TLS path (it supports Pythons built without ssl).
"""

from __future__ import annotations

import sys


def keep_tls_out() -> None:
    """Call before asyncio is imported; afterwards it changes nothing."""
    if "ssl" not in sys.modules:
        sys.modules["ssl"] = None  # type: ignore[assignment]
