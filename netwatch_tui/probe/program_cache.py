"""The compiled probe (compiled_probe.py), kept on disk so that later runs need no compiler.

Compiling with BCC (clang and LLVM) is most of netwatch's start-up: about 0.6 s of the first
second. The attach child keeps what it compiled here, under its key (cache_key.py); later runs
whose key matches put it back with bpf(2) and perf_event_open(2) (attach.py). One entry per
backend: a new compile replaces the old.

What is loaded from here runs in the kernel, so the cache is trusted only when root owns it and
no one else may write to it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import json
import os
import stat
from pathlib import Path
from typing import Any

from netwatch_tui.probe.backends import Backend
from netwatch_tui.probe.compiled_probe import CachedMap, CachedProbe, CachedProgram, check

DEFAULT_DIRECTORY = Path("/var/cache/netwatch-tui")
# NETWATCH_PROBE_CACHE=DIR keeps the cache elsewhere; NETWATCH_PROBE_CACHE=off compiles every time.
DIRECTORY_VARIABLE = "NETWATCH_PROBE_CACHE"
FORMAT = 4  # of an entry: one of another format is not read


def directory() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    chosen = os.environ.get(DIRECTORY_VARIABLE, str(DEFAULT_DIRECTORY))
    return None if chosen == "off" else Path(chosen)


def store(backend: Backend, probe_key: str, probe: CachedProbe) -> None:
    """Keep ``probe`` as ``backend``'s entry (one per backend: a new compile replaces the old)."""
    folder = directory()
    if folder is None:
        return
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    folder_fd = _open_trusted_folder(folder)
    if folder_fd is None:
        return
    document = {
        "format": FORMAT,
        "key": probe_key,
        "maps": [{**cached._asdict(), "name": cached.name.decode()} for cached in probe.maps],
        "programs": [_program_document(program) for program in probe.programs],
    }
    entry = f"{backend.name}.json"
    partial = f".{entry}.{os.getpid()}.tmp"
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600, dir_fd=folder_fd)
        with open(fd, "w") as file:
            json.dump(document, file)
        os.replace(partial, entry, src_dir_fd=folder_fd, dst_dir_fd=folder_fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(partial, dir_fd=folder_fd)
        raise
    finally:
        os.close(folder_fd)


def _open_trusted_folder(folder: Path) -> int | None:
    """A descriptor of ``folder`` if it is a real directory (not a symbolic link) that only we
    (root) may write to; entries are then opened relative to it, so it cannot be swapped meanwhile."""
    folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
    if _trusted(os.fstat(folder_fd)):
        return folder_fd
    os.close(folder_fd)
    return None


def _program_document(program: CachedProgram) -> dict[str, Any]:
    return {
        **program._asdict(),
        "name": program.name.decode(),
        "license": program.license.decode(),
        "instructions": base64.b64encode(program.instructions).decode(),
    }


def load(backend: Backend, probe_key: str) -> CachedProbe | None:
    """``backend``'s entry if it was compiled from exactly these inputs and is safe to load."""
    folder = directory()
    if folder is None:
        return None
    try:
        folder_fd = _open_trusted_folder(folder)
        if folder_fd is None:
            return None
        try:
            fd = os.open(f"{backend.name}.json", os.O_RDONLY | os.O_NOFOLLOW, dir_fd=folder_fd)
        finally:
            os.close(folder_fd)
        with open(fd, "rb") as file:
            status = os.fstat(file.fileno())
            if not stat.S_ISREG(status.st_mode) or not _trusted(status):
                return None
            document = json.load(file)
        if document.get("format") != FORMAT or document["key"] != probe_key:
            return None
        probe = CachedProbe(
            tuple(CachedMap(**{**entry, "name": entry["name"].encode()}) for entry in document["maps"]),
            tuple(_program_from(entry) for entry in document["programs"]),
        )
        check(probe)
        return probe
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        return None  # absent, unreadable or damaged: compiled again, and replaced


def _program_from(entry: dict[str, Any]) -> CachedProgram:
    return CachedProgram(
        name=entry["name"].encode(),
        program_type=int(entry["program_type"]),
        attachments=tuple(str(attachment) for attachment in entry["attachments"]),
        license=entry["license"].encode(),
        instructions=base64.b64decode(entry["instructions"], validate=True),
        map_references=tuple((int(index), int(map_index)) for index, map_index in entry["map_references"]),
        attach_btf_id=int(entry["attach_btf_id"]),
    )


def _trusted(status: os.stat_result) -> bool:
    """Owned by us (root) and writable by no one else."""
    return status.st_uid == os.geteuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def forget(backend: Backend) -> None:
    """Remove ``backend``'s entry (one that loaded but miscounted): the next compile writes anew."""
    folder = directory()
    if folder is not None:
        with contextlib.suppress(OSError):
            (folder / f"{backend.name}.json").unlink()
