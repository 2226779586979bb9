"""The socket hooks attached as BTF-typed raw tracepoints (tp_btf), in the attach child.

Such a program gets the tracepoint's own arguments and may read kernel structs with plain loads;
a classic tracepoint first has the kernel fill in a record for it, which costs more per event than
netwatch's whole program (bench/hot_path.py). BCC compiles these functions but has no way to load
one as such (it loads tracing programs only for kfuncs and LSM hooks): they are loaded here with
bpf(2), then entered in BCC's own bookkeeping (its functions and raw tracepoints), so that handing
over, recording in the cache and cleaning up treat them as BCC's.
"""

from __future__ import annotations

import functools
from typing import Any

from netwatch_tui.probe.bpf_objects import PROGRAM_TYPE_TRACING, attach_btf_tracepoint, load_program
from netwatch_tui.probe.btf import KernelTypes


@functools.cache
def btf_type_id(tracepoint: str) -> int:
    """The kernel BTF type a tp_btf program for ``tracepoint`` is loaded for (asked again when the
    compile is recorded in the cache: reading the kernel's BTF takes some 60 ms)."""
    return KernelTypes.of_running_kernel().typedef_id(f"btf_trace_{tracepoint}")


def attach(program: Any, tracepoints: tuple[str, ...]) -> None:
    """Load BCC-compiled ``program``'s function named after each of ``tracepoints`` as a tp_btf
    program and attach it; BCC's cleanup() detaches and unloads them."""
    from bcc.libbcc import lib  # deferred: only the attach child, which compiled with BCC, gets here

    license_name = lib.bpf_module_license(program.module)
    for tracepoint in tracepoints:
        name = tracepoint.encode()
        program_fd = load_program(
            PROGRAM_TYPE_TRACING, name, program.dump_func(name), license_name, btf_type_id(tracepoint)
        )
        program.funcs[name] = program.Function(program, name, program_fd)
        program.raw_tracepoint_fds[name] = attach_btf_tracepoint(program_fd)
