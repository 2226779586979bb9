"""Compiles a backend's BPF program with BCC and attaches it (in the attach child, see attach_child.py).

BCC is imported here only, lazily: it costs tens of megabytes and a second or so, which the
long-lived monitor process never pays.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe import environment
from netwatch_tui.probe.backends import Backend, program_text
from netwatch_tui.probe.btf import BtfError, KernelTypes
from netwatch_tui.probe.maps import map_sizes, possible_cpus

_SOCK_COMMON_FIELDS = {
    "OFF_DADDR": "skc_daddr",
    "OFF_RCV_SADDR": "skc_rcv_saddr",
    "OFF_DPORT": "skc_dport",
    "OFF_NUM": "skc_num",
    "OFF_FAMILY": "skc_family",
    "OFF_V6_DADDR": "skc_v6_daddr",
    "OFF_V6_RCV_SADDR": "skc_v6_rcv_saddr",
}


def compile_flags() -> list[str]:
    """Map sizes, the running kernel's struct offsets and its tracepoint features, for clang."""
    try:
        kernel = KernelTypes.of_running_kernel()
        if kernel.offset_of("sock", "__sk_common") != 0:
            raise BtfError("struct sock does not start with __sk_common")
        offsets = {
            macro: kernel.offset_of("sock_common", field) for macro, field in _SOCK_COMMON_FIELDS.items()
        }
        offsets["OFF_PROTOCOL"] = kernel.offset_of("sock", "sk_protocol")
    except BtfError as exc:
        raise NetwatchError(f"cannot read socket layout from the kernel's BTF: {exc}") from exc
    flags = [f"-D{name}={value}" for name, value in map_sizes().items()]
    flags += [f"-D{name}={value}" for name, value in offsets.items()]
    flags.append(f"-DNW_CPUS={possible_cpus()}")
    if exit_tracepoint_has_group_dead():
        flags.append("-DHAVE_GROUP_DEAD")
    else:
        flags += _live_threads_offsets(kernel)
    return flags


def _live_threads_offsets(kernel: KernelTypes) -> list[str]:
    """Where a task's count of live threads is (task_struct.signal->live), for the exit hook of
    kernels whose exit tracepoint does not say when a process's last thread exits."""
    try:
        offsets = {
            "OFF_TASK_SIGNAL": kernel.offset_of("task_struct", "signal"),
            "OFF_SIGNAL_LIVE": kernel.offset_of("signal_struct", "live"),
        }
    except BtfError as exc:
        raise NetwatchError(f"cannot read the task layout from the kernel's BTF: {exc}") from exc
    return [f"-D{name}={value}" for name, value in offsets.items()]


def exit_tracepoint_has_group_dead() -> bool:
    """Whether sched_process_exit says which thread's exit ends the process (Linux >= 6.16);
    before, the probe reads the process's count of live threads itself."""
    tracefs = environment.tracefs_root()
    exit_format = tracefs / "events/sched/sched_process_exit/format" if tracefs else None
    return bool(exit_format and exit_format.exists() and "group_dead" in exit_format.read_text())


@contextlib.contextmanager
def _stderr_captured() -> Iterator[IO[bytes]]:
    """Keep clang's warnings off the terminal (a TUI may own it) and keep them for an error report."""
    with tempfile.TemporaryFile() as sink:
        saved = os.dup(2)
        os.dup2(sink.fileno(), 2)
        try:
            yield sink
        finally:
            os.dup2(saved, 2)
            os.close(saved)


def _first_error_line(captured: IO[bytes], exc: Exception) -> str:
    """clang's first error, or BCC's own message (a verifier rejection has no clang error)."""
    captured.seek(0)
    lines = [line for line in captured.read().decode(errors="replace").splitlines() if "error:" in line]
    return lines[0].strip() if lines else str(exc)


def compile_program(backend: Backend, attach: bool = True) -> Any:
    """Compile ``backend``'s program; with ``attach``, load and attach every hook.

    Without ``attach``, every function is still loaded into the kernel's verifier (which is
    how the kprobe backend is proven on a kernel without kprobes).
    """
    environment.require(environment.check_bcc)
    from bcc import BPF  # deferred: see the module docstring

    flags = compile_flags()
    with _stderr_captured() as captured:
        try:
            program = BPF(text=program_text(backend).encode(), cflags=flags)
        except Exception as exc:
            raise NetwatchError(
                f"BCC could not compile {backend.source_file}: {_first_error_line(captured, exc)}"
            ) from exc
    try:
        if attach:
            backend.attach(program)
        else:
            for function in backend.functions:
                program.load_func(function.encode(), backend.program_type(BPF))
    except Exception as exc:
        program.cleanup()
        raise NetwatchError(f"the kernel refused the {backend.name} probe: {exc}") from exc
    return program
