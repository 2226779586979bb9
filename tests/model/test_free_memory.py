"""After a burst, the heap's free pages go back to the kernel: RSS falls to what is still in use."""

from __future__ import annotations

import subprocess
import sys

from tests.netwatch_run import ROOT

# 40 MB of 4 KiB blocks (from the C heap, below its mmap threshold); all but the last are freed,
# which keeps the top of the heap in use: only a trim that reaches inside the heap gives them back.
_BURST = """
import re
from netwatch_tui.free_memory import release_free_memory

def rss_mib():
    status = open("/proc/self/status").read()
    return int(re.search(r"VmRSS:\\s+(\\d+)", status).group(1)) // 1024

blocks = [bytes(4096) for _ in range(10_000)]
last = blocks[-1]
del blocks
before = rss_mib()
release_free_memory()
print(before, rss_mib())
"""


def test_free_pages_of_a_burst_are_returned() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _BURST], capture_output=True, text=True, timeout=60, cwd=ROOT, check=True
    )
    before, after = map(int, result.stdout.split())
    assert before - after >= 30, (before, after)
