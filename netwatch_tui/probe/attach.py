"""Attaching the probe: put back the program compiled by an earlier run, or compile it now."""

from __future__ import annotations

import os

from netwatch_tui.probe import program_cache
from netwatch_tui.probe.backends import Backend
from netwatch_tui.probe.bpf_objects import attach_tracepoint, create_map, load_program
from netwatch_tui.probe.environment import tracefs_root
from netwatch_tui.probe.handover import AttachedProbe, attach_in_child
from netwatch_tui.probe.layout import MAPS


def attach_probe(backend: Backend) -> AttachedProbe:
    """``backend``'s probe, attached: from the cache when it holds this very program (no compiler
    is started then), else compiled by the attach child, which fills the cache."""
    if program_cache.cacheable(backend):
        probe_key = program_cache.key(backend)
        cached = program_cache.load(backend, probe_key) if probe_key else None
        if cached is not None:
            try:
                return restore(backend, cached)
            except OSError:
                pass  # refused by this kernel after all: the compile below replaces the entry
    return attach_in_child(backend.name)


def restore(backend: Backend, cached: program_cache.CachedProbe) -> AttachedProbe:
    """Create ``cached``'s maps, load its programs and attach them; on any failure, undo it all."""
    tracefs = tracefs_root()
    if tracefs is None:
        raise OSError("tracefs is not mounted")
    created: list[int] = []
    try:
        map_fds = [create_map(*shape) for shape in cached.maps]
        created += map_fds
        held = []
        for program in cached.programs:
            code = program.linked(map_fds)
            held.append(load_program(program.program_type, program.name, code, program.license))
            created.append(held[-1])
            held.append(attach_tracepoint(held[-1], tracefs, program.tracepoint))
            created.append(held[-1])
    except OSError:
        for fd in created:
            os.close(fd)
        raise
    return AttachedProbe(backend.name, dict(zip(MAPS, map_fds)), held, from_cache=True)
