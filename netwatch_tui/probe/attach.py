"""Attaching the probe: put back the program compiled by an earlier run, or compile it now."""

from __future__ import annotations

import os

from netwatch_tui.probe import program_cache
from netwatch_tui.probe.backends import Backend
from netwatch_tui.probe.bpf_objects import attach_kprobe, attach_tracepoint, create_map, load_program
from netwatch_tui.probe.environment import tracefs_root
from netwatch_tui.probe.handover import AttachedProbe, attach_in_child
from netwatch_tui.probe.layout import MAPS


def attach_probe(backend: Backend) -> AttachedProbe:
    """``backend``'s probe, attached: from the cache when it holds this very program (no compiler
    is started then), else compiled by the attach child, which fills the cache."""
    probe_key = program_cache.key(backend)
    cached = program_cache.load(backend, probe_key) if probe_key else None
    if cached is not None:
        try:
            return restore(backend, cached)
        except (OSError, ValueError):
            pass  # refused by this kernel after all: the compile below replaces the entry
    return attach_in_child(backend.name)


def restore(backend: Backend, cached: program_cache.CachedProbe) -> AttachedProbe:
    """Create ``cached``'s maps, load its programs and attach them; on any failure, undo it all."""
    created: list[int] = []
    try:
        map_fds = [create_map(*shape) for shape in cached.maps]
        created += map_fds
        for program in cached.programs:
            code = program.linked(map_fds)
            program_fd = load_program(program.program_type, program.name, code, program.license)
            created.append(program_fd)
            for attachment in program.attachments:
                created.append(_attach(program_fd, attachment))
    except (OSError, ValueError):
        for fd in created:
            os.close(fd)
        raise
    # The maps past MAPS are the programs' own (the kprobe backend's calls): held, not read.
    return AttachedProbe(backend.name, dict(zip(MAPS, map_fds)), created[len(MAPS) :], from_cache=True)


def _attach(program_fd: int, attachment: str) -> int:
    """Attach the program as ``attachment`` says ("tracepoint:CATEGORY:EVENT", "kprobe:FUNCTION"
    or "kretprobe:FUNCTION"); the descriptor that keeps it attached."""
    kind, _, target = attachment.partition(":")
    if kind == "tracepoint":
        tracefs = tracefs_root()
        if tracefs is None:
            raise OSError("tracefs is not mounted")
        return attach_tracepoint(program_fd, tracefs, target)
    if kind in ("kprobe", "kretprobe"):
        return attach_kprobe(program_fd, target, on_return=kind == "kretprobe")
    raise ValueError(f"unknown attachment {attachment!r}")
