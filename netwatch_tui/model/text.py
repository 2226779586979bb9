"""Text that comes from processes (names, command lines, users) as valid strings.

Showing it safely is model/sanitize.py's job."""

from __future__ import annotations


def decode_untrusted(raw: bytes | str) -> str:
    """Text from a process, always valid UTF-8.

    Bytes that are not UTF-8 become visible ``\\xNN`` escapes instead of lone surrogates, which
    would break JSON output and terminals alike. Works on bytes and on str decoded with
    ``surrogateescape`` (as psutil and os return them).
    """
    if isinstance(raw, str):
        try:
            raw = raw.encode("utf-8", "surrogateescape")
        except UnicodeEncodeError:  # a lone surrogate that no byte stands for: show its code point
            return raw.encode("utf-8", "backslashreplace").decode("utf-8")
    return raw.decode("utf-8", "backslashreplace")
