"""Each missing piece of the environment gives one line naming the fix, and a non-zero exit.

The failures are real: the command runs as an unprivileged user, or in a private mount namespace
where tracefs is unmounted or a directory is hidden under an empty tmpfs.
"""

from __future__ import annotations

import platform
import shlex
import shutil
import subprocess

import pytest

from tests.markers import requires_bpf
from tests.netwatch_run import ROOT, netwatch_command

pytestmark = [
    requires_bpf,
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare (util-linux)"),
]
BCC_PACKAGE_DIR = "/usr/lib/python3/dist-packages/bcc"


def run_in_private_mounts(setup: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run netwatch after ``setup`` (shell) in a mount namespace of its own."""
    command = f"{setup} && exec {shlex.join(netwatch_command(*args))}"
    return subprocess.run(
        ["unshare", "--mount", "--propagation", "private", "sh", "-c", command],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )


def assert_one_line_error(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert len(result.stderr.splitlines()) == 1, result.stderr
    assert result.stderr.startswith("netwatch: ")
    for fragment in fragments:
        assert fragment in result.stderr


def run_unprivileged(*args: str) -> subprocess.CompletedProcess[str]:
    """Run netwatch as the user nobody."""
    return subprocess.run(
        ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", *netwatch_command(*args)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd="/",
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
    )


def test_not_root() -> None:
    assert_one_line_error(run_unprivileged("--format", "json"), "needs root", "sudo")


def test_doctor_not_root_lists_its_checks() -> None:
    """A newcomer's first command: the checklist, failing on privileges (tracefs is root's only)."""
    result = run_unprivileged("doctor")
    assert result.returncode == 1
    assert result.stderr == ""
    lines = result.stdout.splitlines()
    assert lines[0].startswith("FAIL  privileges:") and "sudo" in lines[0], lines
    assert any(line.startswith("FAIL  probe backend:") and "only root" in line for line in lines), lines
    assert not any("calibration" in line for line in lines)


def test_tracefs_missing() -> None:
    unmount = "umount /sys/kernel/tracing; umount /sys/kernel/debug/tracing 2>/dev/null; true"
    result = run_in_private_mounts(unmount, "--format", "json")
    assert_one_line_error(result, "tracefs is not mounted", "mount -t tracefs nodev /sys/kernel/tracing")


def test_headers_missing() -> None:
    result = run_in_private_mounts("mount -t tmpfs none /lib/modules", "--format", "json")
    assert_one_line_error(result, f"no kernel headers for {platform.release()}", "linux-headers-")


@pytest.mark.parametrize("output", ["json", "csv"])
def test_bcc_missing(output: str) -> None:
    result = run_in_private_mounts(f"mount -t tmpfs none {BCC_PACKAGE_DIR}", "--format", output)
    assert_one_line_error(result, "python3-bpfcc", "python3-bcc")


def test_doctor_reports_every_failure() -> None:
    result = run_in_private_mounts(f"mount -t tmpfs none {BCC_PACKAGE_DIR}", "doctor")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert any(line.startswith("FAIL  BCC:") and "python3-bpfcc" in line for line in lines), lines
    assert not any("calibration" in line for line in lines)  # nothing to calibrate without BCC
