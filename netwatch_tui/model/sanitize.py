"""Untrusted text made safe to show on one terminal line.

Process names, command lines and user names are chosen by whoever runs the process, so they may hold
ANSI escape sequences, newlines, bidirectional overrides or bytes that are not UTF-8 (which Python keeps
as lone surrogates, ``\\udcff``). Each such character becomes a visible escape (``\\x1b``, ``\\n``,
``\\u202e``), so the text shows literally and can neither move the cursor nor restyle the screen.

Rich markup (``[red]x[/red]``) is not escaped here: the widgets put this text into ``rich.text.Text``
objects, which never parse markup, so brackets stay brackets.
"""

from __future__ import annotations

import unicodedata
from functools import lru_cache

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}
# Control, format (bidi overrides, zero-width), surrogate, private-use, unassigned, line/paragraph separators.
_UNSAFE_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})
_SURROGATE_ESCAPE = range(0xDC80, 0xDD00)  # how os.fsdecode keeps a byte that is not UTF-8


def _escape(char: str) -> str:
    code = ord(char)
    if char in _NAMED:
        return _NAMED[char]
    if code in _SURROGATE_ESCAPE:
        return f"\\x{code - 0xDC00:02x}"
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


@lru_cache(maxsize=8192)
def clean(text: str) -> str:
    """``text`` with every character that could affect the terminal replaced by a visible escape."""
    if text.isprintable():
        return text
    return "".join(
        _escape(char) if unicodedata.category(char) in _UNSAFE_CATEGORIES else char for char in text
    )
