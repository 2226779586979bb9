"""A process's cgroup and container, read from /proc on demand (off the event loop)."""

from __future__ import annotations

import re
from dataclasses import dataclass

import psutil

from netwatch_tui.model.identity import same_start_time

# Container runtimes name a container's cgroup after it: docker-<id>.scope, cri-containerd-<id>.scope,
# libpod-<id>.scope (podman); cgroup v1 uses /docker/<id>; Kubernetes nests them under kubepods.
_CONTAINER = re.compile(
    r"(docker|cri-containerd|crio|libpod|lxc)[-/]([0-9a-f]{12,64}|[\w.-]+?)(?:\.scope)?(?:/|$)"
)
_RUNTIME = {"libpod": "podman", "cri-containerd": "containerd", "crio": "cri-o"}


@dataclass(frozen=True)
class CgroupInfo:
    path: str
    container: str | None  # "docker 3f2a9c01b7e4", "podman ...", or None outside containers


def parse_cgroup(text: str) -> CgroupInfo:
    """The cgroup v2 path (else the first v1 path) of a ``/proc/PID/cgroup`` file, and its container."""
    entries = [line.split(":", 2) for line in text.splitlines() if line.count(":") >= 2]
    unified = [path for hierarchy, _, path in entries if hierarchy == "0"]
    path = (unified or [path for _, _, path in entries] or [""])[0]
    match = _CONTAINER.search(path)
    if match is None:
        return CgroupInfo(path, "kubernetes pod" if "kubepods" in path else None)
    return CgroupInfo(path, f"{_RUNTIME.get(match.group(1), match.group(1))} {match.group(2)[:12]}")


def read_cgroup(pid: int, start_time: float | None) -> CgroupInfo | None:
    """The cgroup of the process that started at ``start_time``; None when it is gone, is another
    process by now (or was recorded elsewhere: a replay), or cannot be read. Blocking: call from a thread."""
    try:
        if start_time is None or not same_start_time(psutil.Process(pid).create_time(), start_time):
            return None
        with open(f"/proc/{pid}/cgroup", encoding="utf-8", errors="replace") as cgroup:
            return parse_cgroup(cgroup.read())
    except (OSError, psutil.Error):
        return None
