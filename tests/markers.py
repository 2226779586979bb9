"""Skip markers: tests that need root, a BPF-capable kernel or tmux say why they cannot run."""

from __future__ import annotations

import os
import shutil

import pytest

from netwatch_tui.probe import environment


def bpf_unavailable_reason() -> str | None:
    """Why live-probe tests cannot run here, or None when they can."""
    for check in (
        environment.check_privileges(),
        environment.check_kernel_bpf(),
        environment.check_tracefs(),
        environment.check_headers(),
        environment.check_bcc(),
    ):
        if not check.ok:
            return f"live probe unavailable: {check.detail}"
    return None


_REASON = bpf_unavailable_reason()
requires_bpf = pytest.mark.skipif(_REASON is not None, reason=_REASON or "")
requires_root = pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
requires_tmux = pytest.mark.skipif(shutil.which("tmux") is None, reason="needs tmux")
