"""Which BPF programs a process holds, and which the kernel still has loaded: how the exit-path
tests prove that nothing of netwatch outlives it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import pytest


def loaded_program_ids() -> set[int]:
    return {program["id"] for program in _loaded_programs()}


def still_loaded(ours: set[int]) -> set[int]:
    """Those of ``ours`` the kernel has still loaded after a grace of a few seconds. The kernel frees
    a program whose last descriptor closed after an RCU grace period (a tp_btf link hands it to a
    work item first), so it may be listed a moment after netwatch has let go of it."""
    return _settled(lambda: ours & loaded_program_ids())


def loaded_since(before: set[int]) -> set[int]:
    """The programs loaded now that were not in ``before``, with the same grace as still_loaded."""
    return _settled(lambda: loaded_program_ids() - before)


def _settled(left: Callable[[], set[int]], grace: float = 5.0) -> set[int]:
    deadline = time.monotonic() + grace
    while (found := left()) and time.monotonic() < deadline:
        time.sleep(0.05)
    return found


def maps_used_by_programs() -> dict[int, list[int]]:
    """The ids of the maps each loaded program uses, by program id."""
    return {program["id"]: sorted(program.get("map_ids", [])) for program in _loaded_programs()}


def _loaded_programs() -> list[dict]:
    """Every BPF program the kernel has loaded, as bpftool lists it."""
    if shutil.which("bpftool") is None:
        pytest.fail("bpftool is missing: ./dev.sh setup installs it")
    listing = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, check=True).stdout
    return json.loads(listing)


def program_ids_held_by(pid: int | str) -> set[int]:
    """The BPF programs a process holds open, from its fds' fdinfo."""
    return {int(value) for value in _program_fields_held_by(pid, "prog_id")}


def program_tags_held_by(pid: int | str) -> list[str]:
    """The tags (the kernel's hash of the instructions) of the BPF programs a process holds, sorted."""
    return sorted(_program_fields_held_by(pid, "prog_tag"))


def _program_fields_held_by(pid: int | str, field: str) -> list[str]:
    found = []
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = fdinfo.read_text()
        except OSError:  # closed meanwhile (the listing's own descriptor, for one)
            continue
        match = re.search(rf"^{field}:\s+(\w+)", text, re.MULTILINE)
        if match:
            found.append(match.group(1))
    return found
