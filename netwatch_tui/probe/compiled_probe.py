"""A compiled probe as plain data: what BCC finally hands the kernel, so that it can be handed
over again without BCC (program_cache.py keeps it, attach.py puts it back).

That is each map's shape, each program's instructions and where it is attached (tracepoints,
tp_btf tracepoints, kprobes, kretprobes). The instructions refer to maps by descriptor (64-bit
loads of a map's fd), so those references are taken out when recorded and filled in with the new
maps' descriptors when put back.
"""

from __future__ import annotations

import ctypes
import struct
from collections.abc import Collection
from typing import Any, NamedTuple

from netwatch_tui.probe import bpf_objects
from netwatch_tui.probe.layout import MAPS

_LOAD_IMM64 = 0x18  # BPF_LD | BPF_IMM | BPF_DW: two instruction slots
_PSEUDO_MAP_FD = 1  # its source register when its immediate is a map's descriptor
_INSTRUCTION = struct.Struct("<BBhi")  # opcode, dst/src registers, offset, immediate


class CachedProgram(NamedTuple):
    """One compiled program: its instructions, whose map references are to be filled in."""

    name: bytes  # the kernel's (truncated) name for it, as BCC gave it
    program_type: int
    # "tracepoint:sched:sched_process_exit", "tp_btf:sock_send_length", "kprobe:tcp_sendmsg", "kretprobe:..."
    attachments: tuple[str, ...]
    license: bytes
    instructions: bytes  # map references' immediates zeroed
    map_references: tuple[tuple[int, int], ...]  # (instruction index, index into CachedProbe.maps)
    attach_btf_id: int  # a tp_btf program's kernel BTF type (the key pins the BTF); 0 for the others

    def linked(self, map_fds: list[int]) -> bytes:
        """The instructions with each map reference holding that map's descriptor."""
        code = bytearray(self.instructions)
        for index, map_index in self.map_references:
            opcode, registers, offset, _ = _INSTRUCTION.unpack_from(code, index * 8)
            _INSTRUCTION.pack_into(code, index * 8, opcode, registers, offset, map_fds[map_index])
        return bytes(code)


class CachedMap(NamedTuple):
    """The shape of one map: layout.MAPS's first, in its order, then those only the programs use."""

    map_type: int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: bytes


class CachedProbe(NamedTuple):
    maps: tuple[CachedMap, ...]
    programs: tuple[CachedProgram, ...]


def split_references(code: bytes, map_fds: list[int]) -> tuple[bytes, tuple[tuple[int, int], ...]] | None:
    """``code`` with its map references zeroed, and where they were (as indexes into ``map_fds``);
    None if it loads anything else from outside (another kind of 64-bit load has nothing here to be
    relinked with). A map missing from ``map_fds`` is added at its end: the probe's own maps come
    first, then those only its programs use (the kprobe backend's ``calls``, the tracepoints
    backend's ``addresses``)."""
    if len(code) % 8:
        return None
    stripped = bytearray(code)
    references = []
    index = 0
    while index < len(code) // 8:
        opcode, registers, offset, immediate = _INSTRUCTION.unpack_from(code, index * 8)
        if opcode == _LOAD_IMM64:
            source = registers >> 4
            if source == _PSEUDO_MAP_FD:
                if immediate not in map_fds:
                    map_fds.append(immediate)
                references.append((index, map_fds.index(immediate)))
                _INSTRUCTION.pack_into(stripped, index * 8, opcode, registers, offset, 0)
            elif source != 0:
                return None
            index += 1  # its second slot holds the upper half of the immediate
        index += 1
    return bytes(stripped), tuple(references)


def record(program: Any, map_fds: list[int], kernel_functions: Collection[str]) -> CachedProbe | None:
    """What BCC loaded and attached (``program``, in the attach child, with ``map_fds`` in the
    order of layout.MAPS and kprobes on some of ``kernel_functions``); None if it cannot be put
    back without BCC."""
    map_fds = list(map_fds)  # split_references adds the maps only the programs know
    attachments = attachments_of(program, kernel_functions)
    if attachments is None or set(attachments) != set(program.funcs):
        return None  # attached elsewhere, or loaded and not attached: not something this replays
    from bcc.libbcc import lib  # deferred: only the attach child, which compiled with BCC, records

    license_name = lib.bpf_module_license(program.module)
    programs = []
    for function, loaded in program.funcs.items():
        split = split_references(program.dump_func(function), map_fds)
        if split is None:
            return None
        info = bpf_objects.program_info(loaded.fd)
        programs.append(
            CachedProgram(
                info.name,
                info.type,
                tuple(attachments[function]),
                license_name,
                *split,
                _attach_btf_id(attachments[function]),
            )
        )
    maps = tuple(_map_of(bpf_objects.map_info(fd)) for fd in map_fds)
    return CachedProbe(maps, tuple(programs))


def _attach_btf_id(attachments: list[str]) -> int:
    """The kernel BTF type a tp_btf program was loaded for (looked up again: the same kernel)."""
    tracepoints = [target for kind, _, target in (a.partition(":") for a in attachments) if kind == "tp_btf"]
    if not tracepoints:
        return 0
    from netwatch_tui.probe.btf_tracepoints import btf_type_id  # deferred: the attach child's only

    return btf_type_id(tracepoints[0])


def attachments_of(program: Any, kernel_functions: Collection[str]) -> dict[bytes, list[str]] | None:
    """Where each of BCC's functions is attached, by function name, from BCC's own bookkeeping;
    None if a kprobe is on none of ``kernel_functions``."""
    # BCC names a kprobe's event "p_<kernel function>" ("r_" for a return probe) with "+" and "."
    # made "_": the function is found again among those the backend asked for.
    by_event_name = {name.replace("+", "_").replace(".", "_").encode(): name for name in kernel_functions}
    found: dict[bytes, list[str]] = {}
    for tracepoint in program.tracepoint_fds:
        # BCC attaches TRACEPOINT_PROBE(category, event)'s function, "tracepoint__category__event".
        function = b"tracepoint__" + tracepoint.replace(b":", b"__", 1)
        found.setdefault(function, []).append(f"tracepoint:{tracepoint.decode()}")
    for tracepoint in program.raw_tracepoint_fds:
        # Only btf_tracepoints.py makes these: the function is named after the tracepoint.
        found.setdefault(tracepoint, []).append(f"tp_btf:{tracepoint.decode()}")
    for event, by_function in program.kprobe_fds.items():
        kind = "kprobe" if event.startswith(b"p_") else "kretprobe"
        kernel_function = by_event_name.get(event[2:])
        if kernel_function is None:
            return None
        for function in by_function:
            found.setdefault(function, []).append(f"{kind}:{kernel_function}")
    return found


def _map_of(info: bpf_objects.MapInfo) -> CachedMap:
    return CachedMap(info.type, info.key_size, info.value_size, info.max_entries, info.map_flags, info.name)


def check(probe: CachedProbe) -> None:
    """Raise ValueError unless the probe's own maps have layout.py's layouts (as the attach child
    checks after a compile) and every map reference points at a 64-bit load of a map that exists."""
    if len(probe.maps) < len(MAPS):
        raise ValueError("a map missing")
    for (key_type, value_type), shape in zip(MAPS.values(), probe.maps):
        if (shape.key_size, shape.value_size) != (ctypes.sizeof(key_type), ctypes.sizeof(value_type)):
            raise ValueError("a map of another layout")
    for program in probe.programs:
        if len(program.instructions) % 8:
            raise ValueError("a partial instruction")
        for index, map_index in program.map_references:
            if not 0 <= map_index < len(probe.maps) or not 0 <= index < len(program.instructions) // 8 - 1:
                raise ValueError("a map reference out of range")
            if program.instructions[index * 8] != _LOAD_IMM64:
                raise ValueError("a map reference on the wrong instruction")
