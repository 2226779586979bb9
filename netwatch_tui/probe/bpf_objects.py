"""Maps, programs and tracepoint attachments made with bpf(2) and perf_event_open(2), without BCC.

How a probe compiled before (program_cache.py) is put back in the kernel: the same calls BCC makes
once clang is done, in the long-lived process itself, so that no compiler is started at all. The
attach child loads the BTF-typed tracepoint programs (btf_tracepoints.py) with them too: BCC cannot.
"""

from __future__ import annotations

import ctypes
import errno
import fcntl
import os
import platform
from pathlib import Path

from netwatch_tui.probe.bpf_syscall import call, system_call

_MAP_CREATE = 0
_PROG_LOAD = 5
_OBJ_GET_INFO_BY_FD = 15
_RAW_TRACEPOINT_OPEN = 17
PROGRAM_TYPE_TRACING = 26
ATTACH_TYPE_TRACE_RAW_TP = 23  # a tracing program's expected attach type for a tp_btf hook
_OBJ_NAME_LEN = 16
_LOG_SIZE = 1 << 16

_SYSCALL_PERF_EVENT_OPEN = {
    "x86_64": 298,
    "aarch64": 241,
    "armv7l": 364,
    "ppc64le": 319,
    "s390x": 331,
    "riscv64": 241,
}
_PERF_TYPE_TRACEPOINT = 2
_PERF_SAMPLE_RAW = 1 << 10
_PERF_FLAG_FD_CLOEXEC = 1 << 3
# _IO('$', 0) and _IOW('$', 8, __u32); powerpc encodes an ioctl's direction differently.
_PERF_EVENT_IOC_ENABLE, _PERF_EVENT_IOC_SET_BPF = (
    (0x20002400, 0x80042408) if platform.machine().startswith("ppc") else (0x2400, 0x40042408)
)
_KPROBE_PMU = Path("/sys/bus/event_source/devices/kprobe")


class MapInfo(ctypes.Structure):
    """The head of struct bpf_map_info: what it takes to create the same map again."""

    _fields_ = (
        ("type", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("name", ctypes.c_char * _OBJ_NAME_LEN),
    )


class ProgramInfo(ctypes.Structure):
    """The head of struct bpf_prog_info, up to the program's name."""

    _fields_ = (
        ("type", ctypes.c_uint32),
        ("id", ctypes.c_uint32),
        ("tag", ctypes.c_uint8 * 8),
        ("jited_prog_len", ctypes.c_uint32),
        ("xlated_prog_len", ctypes.c_uint32),
        ("jited_prog_insns", ctypes.c_uint64),
        ("xlated_prog_insns", ctypes.c_uint64),
        ("load_time", ctypes.c_uint64),
        ("created_by_uid", ctypes.c_uint32),
        ("nr_map_ids", ctypes.c_uint32),
        ("map_ids", ctypes.c_uint64),
        ("name", ctypes.c_char * _OBJ_NAME_LEN),
    )


class _InfoAttr(ctypes.Structure):
    _fields_ = (("bpf_fd", ctypes.c_uint32), ("info_len", ctypes.c_uint32), ("info", ctypes.c_uint64))


class _MapCreateAttr(ctypes.Structure):
    _fields_ = (
        ("map_type", ctypes.c_uint32),
        ("key_size", ctypes.c_uint32),
        ("value_size", ctypes.c_uint32),
        ("max_entries", ctypes.c_uint32),
        ("map_flags", ctypes.c_uint32),
        ("inner_map_fd", ctypes.c_uint32),
        ("numa_node", ctypes.c_uint32),
        ("map_name", ctypes.c_char * _OBJ_NAME_LEN),
        ("map_ifindex", ctypes.c_uint32),
    )


class _ProgLoadAttr(ctypes.Structure):
    _fields_ = (
        ("prog_type", ctypes.c_uint32),
        ("insn_cnt", ctypes.c_uint32),
        ("insns", ctypes.c_uint64),
        ("license", ctypes.c_uint64),
        ("log_level", ctypes.c_uint32),
        ("log_size", ctypes.c_uint32),
        ("log_buf", ctypes.c_uint64),
        ("kern_version", ctypes.c_uint32),
        ("prog_flags", ctypes.c_uint32),
        ("prog_name", ctypes.c_char * _OBJ_NAME_LEN),
        ("prog_ifindex", ctypes.c_uint32),
        ("expected_attach_type", ctypes.c_uint32),
        ("prog_btf_fd", ctypes.c_uint32),
        ("func_info_rec_size", ctypes.c_uint32),
        ("func_info", ctypes.c_uint64),
        ("func_info_cnt", ctypes.c_uint32),
        ("line_info_rec_size", ctypes.c_uint32),
        ("line_info", ctypes.c_uint64),
        ("line_info_cnt", ctypes.c_uint32),
        ("attach_btf_id", ctypes.c_uint32),
    )


class _RawTracepointAttr(ctypes.Structure):
    _fields_ = (("name", ctypes.c_uint64), ("prog_fd", ctypes.c_uint32))


class _PerfEventAttr(ctypes.Structure):
    """struct perf_event_attr up to config2 (PERF_ATTR_SIZE_VER1, 72 bytes)."""

    _fields_ = (
        ("type", ctypes.c_uint32),
        ("size", ctypes.c_uint32),
        ("config", ctypes.c_uint64),
        ("sample_period", ctypes.c_uint64),
        ("sample_type", ctypes.c_uint64),
        ("read_format", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
        ("wakeup_events", ctypes.c_uint32),
        ("bp_type", ctypes.c_uint32),
        ("config1", ctypes.c_uint64),
        ("config2", ctypes.c_uint64),
    )


def map_info(map_fd: int) -> MapInfo:
    return _object_info(map_fd, MapInfo())


def program_info(program_fd: int) -> ProgramInfo:
    return _object_info(program_fd, ProgramInfo())


def _object_info(fd: int, info: ctypes.Structure) -> ctypes.Structure:
    call(_OBJ_GET_INFO_BY_FD, _InfoAttr(fd, ctypes.sizeof(info), ctypes.addressof(info)))
    return info


def create_map(
    map_type: int, key_size: int, value_size: int, max_entries: int, map_flags: int, name: bytes
) -> int:
    """A new, empty map of that shape; its descriptor."""
    attr = _MapCreateAttr(
        map_type=map_type,
        key_size=key_size,
        value_size=value_size,
        max_entries=max_entries,
        map_flags=map_flags,
        map_name=name[: _OBJ_NAME_LEN - 1],
    )
    return call(_MAP_CREATE, attr)


def load_program(
    program_type: int, name: bytes, instructions: bytes, license_name: bytes, attach_btf_id: int = 0
) -> int:
    """Load ``instructions`` (their map references already holding this process's descriptors)
    through the verifier; its descriptor. A refusal raises OSError with the verifier's reason.
    A tracing program is loaded for the tp_btf hook whose kernel BTF type is ``attach_btf_id``."""
    code = ctypes.create_string_buffer(instructions, len(instructions))
    license_text = ctypes.create_string_buffer(license_name)
    log = ctypes.create_string_buffer(_LOG_SIZE)
    attr = _ProgLoadAttr(
        prog_type=program_type,
        insn_cnt=len(instructions) // 8,
        insns=ctypes.addressof(code),
        license=ctypes.addressof(license_text),
        prog_name=name[: _OBJ_NAME_LEN - 1],
        attach_btf_id=attach_btf_id,
    )
    if program_type == PROGRAM_TYPE_TRACING:
        attr.expected_attach_type = ATTACH_TYPE_TRACE_RAW_TP
    try:
        return call(_PROG_LOAD, attr)
    except OSError as exc:
        if exc.errno not in (errno.EACCES, errno.EINVAL):
            raise
    # Loaded again with the verifier's log, only to say why: the log costs time on every success.
    attr.log_level, attr.log_size, attr.log_buf = 1, _LOG_SIZE, ctypes.addressof(log)
    try:
        return call(_PROG_LOAD, attr)
    except OSError as exc:
        lines = log.value.decode(errors="replace").strip().splitlines()
        # The log ends with the verifier's statistics; the reason is the line before them.
        reasons = [line for line in lines if not line.startswith(("processed ", "verification time"))]
        raise OSError(exc.errno, f"{exc.strerror}: {reasons[-1] if reasons else 'no verifier log'}") from None


def attach_tracepoint(program_fd: int, tracefs: Path, tracepoint: str) -> int:
    """Run the program on every hit of ``tracepoint`` ("category:event"), as BCC does: through a
    perf event, whose descriptor keeps it attached (the kernel detaches it when that closes)."""
    category, event = tracepoint.split(":")
    event_id = int((tracefs / "events" / category / event / "id").read_text())
    return _attach_perf_event(program_fd, _PerfEventAttr(type=_PERF_TYPE_TRACEPOINT, config=event_id))


def attach_btf_tracepoint(program_fd: int) -> int:
    """Run a tracing program on every hit of the tracepoint it was loaded for; the descriptor that
    keeps it attached (a link: the kernel detaches the program when that closes)."""
    return call(_RAW_TRACEPOINT_OPEN, _RawTracepointAttr(0, program_fd))


def attach_kprobe(program_fd: int, function: str, on_return: bool) -> int:
    """Run the program on entry to the kernel's ``function``, or on its return, as BCC does on
    kernels with the kprobe PMU (Linux >= 4.17): one perf event, no kprobe_events entry."""
    pmu_type = int((_KPROBE_PMU / "type").read_text())
    name = ctypes.create_string_buffer(function.encode())
    attr = _PerfEventAttr(type=pmu_type, config1=ctypes.addressof(name))
    if on_return:
        # format/retprobe says which bit of config asks for the return ("config:0").
        attr.config = 1 << int((_KPROBE_PMU / "format" / "retprobe").read_text().strip().split(":")[1])
    return _attach_perf_event(program_fd, attr)


def _attach_perf_event(program_fd: int, attr: _PerfEventAttr) -> int:
    attr.size = ctypes.sizeof(_PerfEventAttr)
    attr.sample_period = 1
    attr.sample_type = _PERF_SAMPLE_RAW
    attr.wakeup_events = 1
    # pid -1 and CPU 0: the program then runs on every CPU (these programs are not per CPU).
    fd = system_call(
        _SYSCALL_PERF_EVENT_OPEN, "perf_event_open", ctypes.byref(attr), -1, 0, -1, _PERF_FLAG_FD_CLOEXEC
    )
    try:
        fcntl.ioctl(fd, _PERF_EVENT_IOC_SET_BPF, program_fd)
        fcntl.ioctl(fd, _PERF_EVENT_IOC_ENABLE, 0)
    except OSError:
        os.close(fd)
        raise
    return fd
