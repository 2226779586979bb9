"""Which BPF programs a process holds, and which the kernel still has loaded: how the exit-path
tests prove that nothing of netwatch outlives it."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest


def loaded_program_ids() -> set[int]:
    if shutil.which("bpftool") is None:
        pytest.fail("bpftool is missing: ./dev.sh setup installs it")
    listing = subprocess.run(["bpftool", "prog", "show", "-j"], capture_output=True, check=True).stdout
    return {program["id"] for program in json.loads(listing)}


def program_ids_held_by(pid: int) -> set[int]:
    """The BPF programs a process holds open, from its fds' fdinfo."""
    held = set()
    for fdinfo in Path(f"/proc/{pid}/fdinfo").iterdir():
        try:
            text = fdinfo.read_text()
        except OSError:
            continue
        match = re.search(r"^prog_id:\s+(\d+)", text, re.MULTILINE)
        if match:
            held.add(int(match.group(1)))
    return held
