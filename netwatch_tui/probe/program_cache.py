"""The compiled probe, kept on disk so that later runs need no compiler.

Compiling with BCC (clang and LLVM) is most of netwatch's start-up: about 0.6 s of the first
second. What BCC finally hands the kernel is plain data: each map's shape, each program's
instructions (whose map references hold descriptors) and the tracepoints or kernel functions it
attaches to. The attach child records that here after a compile; later runs put it back with bpf(2)
and perf_event_open(2) (bpf_objects.py).

An entry serves only the exact inputs it was compiled from: the program's text, the map sizes, the
CPU count, the running kernel (its BTF, from which the struct offsets come, and the formats of the
tracepoints, from which BCC builds their argument structs), the kernel headers compiled against
(the kprobe backend picks function signatures by their version) and BCC's version. Anything else
is a miss, and the next compile replaces the entry.

What is loaded from here runs in the kernel, so the cache is trusted only when root owns it and
no one else may write to it.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import ctypes
import hashlib
import importlib.util
import json
import os
import platform
import re
import stat
import struct
from pathlib import Path
from typing import Any, NamedTuple

from netwatch_tui.probe import bpf_objects, environment
from netwatch_tui.probe.backends import Backend
from netwatch_tui.probe.btf import VMLINUX_BTF
from netwatch_tui.probe.layout import MAPS
from netwatch_tui.probe.loader import program_text
from netwatch_tui.probe.maps import map_sizes, possible_cpus

DEFAULT_DIRECTORY = Path("/var/cache/netwatch-tui")
# NETWATCH_PROBE_CACHE=DIR keeps the cache elsewhere; NETWATCH_PROBE_CACHE=off compiles every time.
DIRECTORY_VARIABLE = "NETWATCH_PROBE_CACHE"
_FORMAT = 2
# What BCC reads from the environment to choose the kernel headers and version it compiles for.
_BCC_VARIABLES = ("BCC_KERNEL_SOURCE", "BCC_KERNEL_MODULES_SUFFIX", "BCC_LINUX_VERSION_CODE")
# The tracepoints whose argument structs BCC generates from their formats in tracefs.
_TRACEPOINT_PROBE = re.compile(r"^TRACEPOINT_PROBE\((\w+),\s*(\w+)\)", re.MULTILINE)
_LOAD_IMM64 = 0x18  # BPF_LD | BPF_IMM | BPF_DW: two instruction slots
_PSEUDO_MAP_FD = 1  # its source register when its immediate is a map's descriptor
_INSTRUCTION = struct.Struct("<BBhi")  # opcode, dst/src registers, offset, immediate


class CachedProgram(NamedTuple):
    """One compiled program: its instructions, whose map references are to be filled in."""

    function: str
    name: bytes  # the kernel's (truncated) name for it, as BCC gave it
    program_type: int
    attachments: tuple[str, ...]  # "tracepoint:sock:sock_send_length", "kprobe:tcp_sendmsg", "kretprobe:..."
    license: bytes
    instructions: bytes  # map references' immediates zeroed
    map_references: tuple[tuple[int, int], ...]  # (instruction index, index of the map in MAPS)

    def linked(self, map_fds: list[int]) -> bytes:
        """The instructions with each map reference holding that map's descriptor."""
        code = bytearray(self.instructions)
        for index, map_index in self.map_references:
            opcode, registers, offset, _ = _INSTRUCTION.unpack_from(code, index * 8)
            _INSTRUCTION.pack_into(code, index * 8, opcode, registers, offset, map_fds[map_index])
        return bytes(code)


class CachedMap(NamedTuple):
    """The shape of one map, in the order of layout.MAPS."""

    map_type: int
    key_size: int
    value_size: int
    max_entries: int
    map_flags: int
    name: bytes


class CachedProbe(NamedTuple):
    maps: tuple[CachedMap, ...]
    programs: tuple[CachedProgram, ...]


def directory() -> Path | None:
    """Where the cache lives, or None when it is turned off."""
    chosen = os.environ.get(DIRECTORY_VARIABLE, str(DEFAULT_DIRECTORY))
    return None if chosen == "off" else Path(chosen)


def key(backend: Backend) -> str | None:
    """A digest of everything the compiled program depends on; None if some of it cannot be read."""
    tracefs = environment.tracefs_root()
    bcc = importlib.util.find_spec("bcc")
    if tracefs is None or bcc is None or not bcc.submodule_search_locations:
        return None
    try:
        text = program_text(backend)
        inputs = {
            "format": _FORMAT,
            "backend": backend.name,
            "source": text,
            "map_sizes": map_sizes(),
            "cpus": possible_cpus(),
            "kernel": [platform.release(), platform.version(), platform.machine()],
            "btf": hashlib.sha256(VMLINUX_BTF.read_bytes()).hexdigest(),
            "tracepoints": [_tracepoint_format(tracefs, *found) for found in _TRACEPOINT_PROBE.findall(text)],
            "headers": _headers(),
            "bcc_environment": {name: os.environ.get(name) for name in _BCC_VARIABLES},
            "bcc": (Path(bcc.submodule_search_locations[0]) / "version.py").read_text(),
        }
    except OSError:
        return None
    return hashlib.sha256(json.dumps(inputs, sort_keys=True).encode()).hexdigest()


def _headers() -> dict[str, str]:
    """Which kernel headers BCC compiles against, and the version they declare (the kprobe backend
    picks function signatures by LINUX_VERSION_CODE)."""
    modules = Path("/lib/modules") / platform.release()
    found = {tree: os.path.realpath(modules / tree) for tree in ("build", "source")}
    with contextlib.suppress(OSError):
        found["version.h"] = (modules / "build/include/generated/uapi/linux/version.h").read_text()
    return found


def _tracepoint_format(tracefs: Path, category: str, event: str) -> str:
    return (tracefs / "events" / category / event / "format").read_text()


def split_references(code: bytes, map_fds: list[int]) -> tuple[bytes, tuple[tuple[int, int], ...]] | None:
    """``code`` with its map references zeroed, and where they were (as indexes into ``map_fds``);
    None if it loads anything else from outside (another kind of 64-bit load has nothing here to be
    relinked with). A map missing from ``map_fds`` is added at its end: the probe's own maps come
    first, then those only its programs use (the kprobe backend's ``calls``)."""
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


def record(program: Any, map_fds: list[int]) -> CachedProbe | None:
    """What BCC loaded and attached (``program``, in the attach child, with ``map_fds`` in the
    order of layout.MAPS); None if it cannot be put back without BCC."""
    map_fds = list(map_fds)  # split_references adds the maps only the programs know
    attachments = _attachments(program)
    if set(attachments) != set(program.funcs):
        return None  # a function loaded but not attached: not something this module replays
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
                function.decode(),
                info.name,
                info.type,
                tuple(attachments[function]),
                license_name,
                *split,
            )
        )
    maps = tuple(_map_of(bpf_objects.map_info(fd)) for fd in map_fds)
    return CachedProbe(maps, tuple(programs))


def _attachments(program: Any) -> dict[bytes, list[str]]:
    """Where each of BCC's functions is attached, by function name, from BCC's own bookkeeping."""
    found: dict[bytes, list[str]] = {}
    for tracepoint in program.tracepoint_fds:
        # BCC attaches TRACEPOINT_PROBE(category, event)'s function, "tracepoint__category__event".
        function = b"tracepoint__" + tracepoint.replace(b":", b"__", 1)
        found.setdefault(function, []).append(f"tracepoint:{tracepoint.decode()}")
    for event, by_function in program.kprobe_fds.items():
        # BCC names the event "p_<kernel function>" for an entry probe, "r_<...>" for a return probe.
        kind = "kprobe" if event.startswith(b"p_") else "kretprobe"
        for function in by_function:
            found.setdefault(function, []).append(f"{kind}:{event[2:].decode()}")
    return found


def _map_of(info: bpf_objects.MapInfo) -> CachedMap:
    return CachedMap(info.type, info.key_size, info.value_size, info.max_entries, info.map_flags, info.name)


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
        if document["key"] != probe_key:
            return None
        probe = CachedProbe(
            tuple(CachedMap(**{**entry, "name": entry["name"].encode()}) for entry in document["maps"]),
            tuple(_program_from(entry) for entry in document["programs"]),
        )
        _check(probe)
        return probe
    except (OSError, ValueError, KeyError, TypeError, binascii.Error):
        return None  # absent, unreadable or damaged: compiled again, and replaced


def _program_from(entry: dict[str, Any]) -> CachedProgram:
    return CachedProgram(
        function=entry["function"],
        name=entry["name"].encode(),
        program_type=int(entry["program_type"]),
        attachments=tuple(str(attachment) for attachment in entry["attachments"]),
        license=entry["license"].encode(),
        instructions=base64.b64decode(entry["instructions"], validate=True),
        map_references=tuple((int(index), int(map_index)) for index, map_index in entry["map_references"]),
    )


def _check(probe: CachedProbe) -> None:
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


def _trusted(status: os.stat_result) -> bool:
    """Owned by us (root) and writable by no one else."""
    return status.st_uid == os.geteuid() and not status.st_mode & (stat.S_IWGRP | stat.S_IWOTH)


def forget(backend: Backend) -> None:
    """Remove ``backend``'s entry (one that loaded but miscounted): the next compile writes anew."""
    folder = directory()
    if folder is not None:
        with contextlib.suppress(OSError):
            (folder / f"{backend.name}.json").unlink()
