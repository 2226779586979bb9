"""What the live probe needs from the machine, checked before anything is compiled.

Each check returns a :class:`Check` naming what is wrong and the one command that fixes it. The
CLI stops at the first failed check with that line; ``netwatch doctor`` prints them all.
"""

from __future__ import annotations

import importlib
import os
import platform
from pathlib import Path
from typing import Callable, NamedTuple

from netwatch_tui.errors import NetwatchError

TRACEFS_ROOTS = (Path("/sys/kernel/tracing"), Path("/sys/kernel/debug/tracing"))
BTF_PATH = Path("/sys/kernel/btf/vmlinux")
KHEADERS_ARCHIVE = Path("/sys/kernel/kheaders.tar.xz")
SETUP_HINT = "sudo ./dev.sh setup"


class Check(NamedTuple):
    """The outcome of one check: ``detail`` says what was found, ``fix`` what to do if it failed."""

    name: str
    ok: bool
    detail: str
    fix: str = ""

    def line(self) -> str:
        if self.ok:
            return f"ok    {self.name}: {self.detail}"
        return f"FAIL  {self.name}: {self.detail}; fix: {self.fix}"


def tracefs_root() -> Path | None:
    """The mounted tracefs (where tracepoint formats live), or None."""
    for root in TRACEFS_ROOTS:
        try:
            if (root / "events").is_dir():
                return root
        except PermissionError:  # mounted, but only root may look: say so rather than "missing"
            return root
    return None


def check_privileges() -> Check:
    if os.geteuid() == 0:
        return Check("privileges", True, "running as root")
    return Check(
        "privileges",
        False,
        "loading BPF programs needs root (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN)",
        "run it with sudo, or use --replay FILE to view a recording without root",
    )


def check_tracefs() -> Check:
    root = tracefs_root()
    if root is not None:
        return Check("tracefs", True, f"mounted at {root}")
    return Check("tracefs", False, "tracefs is not mounted", "mount -t tracefs nodev /sys/kernel/tracing")


def check_kernel_bpf() -> Check:
    if not BTF_PATH.exists():
        return Check(
            "kernel BPF support",
            False,
            f"{BTF_PATH} is missing (the probe reads struct offsets from the kernel's BTF)",
            "use a kernel built with CONFIG_DEBUG_INFO_BTF=y (every major distribution's is)",
        )
    if not Path("/proc/sys/kernel/unprivileged_bpf_disabled").exists():
        return Check(
            "kernel BPF support",
            False,
            "the kernel has no bpf() system call",
            "use a kernel with CONFIG_BPF_SYSCALL=y",
        )
    return Check("kernel BPF support", True, f"bpf() and BTF present (Linux {platform.release()})")


def check_bcc() -> Check:
    distro_fix = "apt-get install python3-bpfcc (Debian/Ubuntu) or dnf install python3-bcc (Fedora/RHEL)"
    try:
        bcc = importlib.import_module("bcc")
    except ImportError as exc:
        return Check("BCC", False, f"the bcc Python module cannot be imported ({exc})", distro_fix)
    except OSError as exc:  # the module is there but libbcc.so is not
        return Check("BCC", False, f"libbcc cannot be loaded ({exc})", distro_fix)
    if getattr(bcc, "__file__", None) is None:  # an empty directory, imported as a namespace package
        return Check("BCC", False, "the bcc Python module is not installed", distro_fix)
    if not hasattr(bcc, "BPF"):
        return Check(
            "BCC",
            False,
            f"the 'bcc' module at {getattr(bcc, '__file__', '?')} is not BCC (PyPI's 'bcc' is unrelated)",
            f"pip uninstall bcc, then {distro_fix}",
        )
    return Check("BCC", True, f"{bcc.__name__} from {Path(bcc.__file__).parent}")


def check_headers() -> Check:
    modules = Path("/lib/modules") / platform.release()
    build = modules / "build"
    # Split header packages (Debian) keep kconfig.h in the "source" tree, next to "build".
    if any((modules / tree / "include/linux/kconfig.h").exists() for tree in ("build", "source")):
        headers_release = build.resolve().name.removeprefix("linux-headers-")
        detail = f"{build} -> {build.resolve()}"
        if headers_release != platform.release():
            detail += " (another kernel's headers: the fallback; struct offsets come from BTF)"
        return Check("kernel headers", True, detail)
    if KHEADERS_ARCHIVE.exists():
        return Check("kernel headers", True, f"built into the kernel ({KHEADERS_ARCHIVE})")
    release = platform.release()
    return Check(
        "kernel headers",
        False,
        f"no kernel headers for {release} at {build}",
        f"apt-get install linux-headers-{release} (Fedora/RHEL: dnf install kernel-devel-{release}); "
        f"with no headers package for this kernel, {SETUP_HINT} applies the documented fallback",
    )


def require(*checks: Callable[[], Check]) -> None:
    """Run the checks in order; raise the first failure as a one-line error."""
    for run_check in checks:
        check = run_check()
        if not check.ok:
            raise NetwatchError(f"{check.detail}; fix: {check.fix}")


def preflight() -> None:
    """The fast checks a live run needs, in the order a user should fix them."""
    require(check_privileges, check_kernel_bpf, check_tracefs, check_headers)
