"""The kernel matrix from the host: boot Debian 12's 6.1 kernel under qemu and run the kprobe
backend's end-to-end tests in it (tests/vm/run-kernel-matrix.sh).

It takes minutes and installs packages, so it runs only when asked: NETWATCH_KERNEL_MATRIX=1.
"""

from __future__ import annotations

import os
import re
import subprocess

import pytest

from tests.netwatch_run import ROOT

SCRIPT = ROOT / "tests" / "vm" / "run-kernel-matrix.sh"

pytestmark = [
    pytest.mark.skipif(
        os.environ.get("NETWATCH_KERNEL_MATRIX") != "1",
        reason="boots a Debian 6.1 VM for minutes: set NETWATCH_KERNEL_MATRIX=1 to run it",
    ),
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (installs packages, loads BPF in the guest)"),
]


def test_kprobe_backend_passes_on_debian_6_1() -> None:
    run = subprocess.run([str(SCRIPT)], cwd=ROOT, capture_output=True, text=True, timeout=1200)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output[-6000:]
    assert "guest kernel 6.1." in output
    # pytest's summary line: "failed" or "error" would come first in it, so this means none.
    assert re.search(r"^\d+ passed\b.* in [\d.]+s", run.stdout, re.MULTILINE), output[-6000:]
