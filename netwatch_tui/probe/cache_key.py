"""The cache key of a compiled probe: everything its compile depends on, written out.

An entry serves only the exact inputs it was compiled from: the program's text, the map sizes, the
CPU count, the running kernel (its BTF, from which the struct offsets come, and the formats of the
tracepoints, from which BCC builds their argument structs), the kernel headers compiled against
(the kprobe backend picks function signatures by their version), BCC's environment and its
version. Anything else is a miss, and the next compile replaces the entry.

The key is those inputs themselves (some 30 kB of JSON), compared whole, rather than a digest:
hashlib would load OpenSSL's libcrypto into the long-lived monitor, 3.7 MB of its memory. The one
large input, the kernel's BTF, enters as its size and CRC-32 beside the kernel's release and build.
"""

from __future__ import annotations

import contextlib
import importlib.util
import json
import os
import platform
import re
import zlib
from pathlib import Path

from netwatch_tui.probe import environment
from netwatch_tui.probe.backends import Backend, program_text
from netwatch_tui.probe.maps import map_sizes, possible_cpus

# What BCC reads from the environment to choose the kernel headers and version it compiles for.
_BCC_VARIABLES = ("BCC_KERNEL_SOURCE", "BCC_KERNEL_MODULES_SUFFIX", "BCC_LINUX_VERSION_CODE")
# The tracepoints whose argument structs BCC generates from their formats in tracefs.
_TRACEPOINT_PROBE = re.compile(r"^TRACEPOINT_PROBE\((\w+),\s*(\w+)\)", re.MULTILINE)


def key(backend: Backend) -> str | None:
    """Everything the compiled program depends on; None if some of it cannot be read."""
    tracefs = environment.tracefs_root()
    bcc = importlib.util.find_spec("bcc")
    if tracefs is None or bcc is None or not bcc.submodule_search_locations:
        return None
    try:
        text = program_text(backend)
        inputs = {
            "backend": backend.name,
            "source": text,
            "map_sizes": map_sizes(),
            "cpus": possible_cpus(),
            "kernel": [platform.release(), platform.version(), platform.machine()],
            "btf": _size_and_crc(environment.BTF_PATH),
            "tracepoints": [_tracepoint_format(tracefs, *found) for found in _TRACEPOINT_PROBE.findall(text)],
            "headers": _headers(),
            "bcc_environment": {name: os.environ.get(name) for name in _BCC_VARIABLES},
            "bcc": (Path(bcc.submodule_search_locations[0]) / "version.py").read_text(),
        }
    except OSError:
        return None
    return json.dumps(inputs, sort_keys=True)


def _size_and_crc(path: Path) -> tuple[int, int]:
    """The file's size and CRC-32, read in pieces: the kernel's BTF is some 5 MB, which read whole
    would stay in the long-lived monitor's peak memory."""
    size, crc = 0, 0
    with path.open("rb") as file:
        while piece := file.read(1 << 18):
            size, crc = size + len(piece), zlib.crc32(piece, crc)
    return size, crc


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
