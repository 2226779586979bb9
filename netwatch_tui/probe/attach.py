"""Attaching the probe: put back the program compiled by an earlier run, or compile it now."""

from __future__ import annotations

import contextlib
import os
import resource

from netwatch_tui.errors import NetwatchError
from netwatch_tui.model.counters import ProcessCounters
from netwatch_tui.probe import cache_key, compiled_probe, program_cache
from netwatch_tui.probe.backends import Backend
from netwatch_tui.probe.bpf_objects import (
    attach_btf_tracepoint,
    attach_kprobe,
    attach_tracepoint,
    create_map,
    load_program,
)
from netwatch_tui.probe.calibration import calibrate
from netwatch_tui.probe.environment import tracefs_root
from netwatch_tui.probe.handover import AttachedProbe, attach_in_child
from netwatch_tui.probe.layout import MAPS
from netwatch_tui.probe.maps import ProbeMaps


def attach_probe(backend: Backend) -> AttachedProbe:
    """``backend``'s probe, attached: from the cache when it holds this very program (no compiler
    is started then), else compiled by the attach child, which fills the cache."""
    probe_key = cache_key.key(backend) if program_cache.directory() else None
    cached = program_cache.load(backend, probe_key) if probe_key else None
    if cached is not None:
        try:
            return restore(backend, cached)
        except Exception:  # refused by this kernel after all: the compile below replaces the entry
            pass
    return attach_in_child(backend.name)


def attach_calibrated(backend: Backend) -> tuple[ProbeMaps, list[ProcessCounters]]:
    """``backend``'s probe, attached and proven by the calibration transfer (calibration.py), with
    the readings that transfer left. A probe put back from the cache that miscounts is dropped from
    it and compiled afresh: the cache must never make netwatch worse than compiling would."""
    maps = ProbeMaps(attach_probe(backend))
    try:
        return _calibrated(maps)
    except NetwatchError:
        if not maps.from_cache:
            raise
    program_cache.forget(backend)
    return _calibrated(ProbeMaps(attach_in_child(backend.name)))


def _calibrated(maps: ProbeMaps) -> tuple[ProbeMaps, list[ProcessCounters]]:
    """``maps`` with the calibration's readings; closed (the probe detached) if it fails."""
    try:
        return maps, calibrate(maps)
    except BaseException:
        maps.close()
        raise


def restore(backend: Backend, cached: compiled_probe.CachedProbe) -> AttachedProbe:
    """Create ``cached``'s maps, load its programs and attach them; on any failure, undo it all."""
    _lift_memlock_limit()
    created: list[int] = []
    map_fds: list[int] = []
    try:
        for shape in cached.maps:
            map_fds.append(create_map(*shape))
            created.append(map_fds[-1])
        for program in cached.programs:
            code = program.linked(map_fds)
            program_fd = load_program(
                program.program_type, program.name, code, program.license, program.attach_btf_id
            )
            created.append(program_fd)
            for attachment in program.attachments:
                created.append(_attach(program_fd, attachment))
    except BaseException:
        for fd in created:
            os.close(fd)
        raise
    # The maps past MAPS are the programs' own (the kprobe backend's calls, the tracepoint backend's
    # addresses): held, not read.
    return AttachedProbe(backend.name, dict(zip(MAPS, map_fds)), created[len(MAPS) :], from_cache=True)


def _lift_memlock_limit() -> None:
    """Before Linux 5.11 maps and programs count against RLIMIT_MEMLOCK, whose default is far too
    small for the probe's maps; BCC lifts it in the attach child, and so must a restore."""
    with contextlib.suppress(OSError, ValueError):
        resource.setrlimit(resource.RLIMIT_MEMLOCK, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))


def _attach(program_fd: int, attachment: str) -> int:
    """Attach the program as ``attachment`` says ("tracepoint:CATEGORY:EVENT", "tp_btf:EVENT" (for
    which it was loaded), "kprobe:FUNCTION" or "kretprobe:FUNCTION"); the descriptor that keeps it
    attached."""
    kind, _, target = attachment.partition(":")
    if kind == "tp_btf":
        return attach_btf_tracepoint(program_fd)
    if kind == "tracepoint":
        tracefs = tracefs_root()
        if tracefs is None:
            raise OSError("tracefs is not mounted")
        return attach_tracepoint(program_fd, tracefs, target)
    if kind in ("kprobe", "kretprobe"):
        return attach_kprobe(program_fd, target, on_return=kind == "kretprobe")
    raise ValueError(f"unknown attachment {attachment!r}")
