"""The kprobe backend (kernels before 6.3): compiled by BCC and checked by this kernel's verifier.

Attaching needs kprobes, which this machine's kernel is built without; that part is proven on a
kernel with kprobes (Debian's 6.1 under qemu, see the evidence issue) and skipped here with that
reason.
"""

from __future__ import annotations

import pytest

from netwatch_tui.errors import NetwatchError
from netwatch_tui.probe.backends import KPROBES, choose_backend
from netwatch_tui.probe.loader import compile_program
from tests.markers import requires_bpf

pytestmark = requires_bpf


def test_every_kprobe_function_passes_the_verifier() -> None:
    program = compile_program(KPROBES, attach=False)
    try:
        loaded = {name.decode() for name in program.funcs}
        assert set(KPROBES.functions) <= loaded
        assert all(program.funcs[name.encode()].fd >= 0 for name in KPROBES.functions)
    finally:
        program.cleanup()


@pytest.mark.skipif(
    not KPROBES.available(), reason="this kernel has no kprobes (no kprobe_events in tracefs)"
)
def test_kprobe_backend_attaches() -> None:
    compile_program(KPROBES).cleanup()


@pytest.mark.skipif(KPROBES.available(), reason="this kernel has kprobes")
def test_asking_for_kprobes_without_them_says_why() -> None:
    with pytest.raises(NetwatchError, match="no kprobes"):
        choose_backend("kprobes")
