"""Struct offsets from the running kernel's BTF, checked against bpftool's reading of the same BTF."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest

from netwatch_tui.probe.btf import VMLINUX_BTF, BtfError, KernelTypes

pytestmark = pytest.mark.skipif(not VMLINUX_BTF.exists(), reason="the kernel has no BTF")


def bpftool_offsets(struct: str) -> dict[str, int]:
    dump = subprocess.run(
        ["bpftool", "btf", "dump", "file", str(VMLINUX_BTF), "format", "raw"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    block = dump.split(f"STRUCT '{struct}'", 1)[1].split("\n[", 1)[0]
    return {
        name: int(bits) // 8 for name, bits in re.findall(r"'(\w+)' type_id=\d+ bits_offset=(\d+)", block)
    }


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="needs bpftool (./dev.sh setup installs it)")
def test_named_fields_match_bpftool() -> None:
    kernel = KernelTypes.of_running_kernel()
    expected = bpftool_offsets("sock_common")
    for field in ("skc_family", "skc_v6_daddr", "skc_v6_rcv_saddr", "skc_state"):
        assert kernel.offset_of("sock_common", field) == expected[field]


def test_fields_inside_anonymous_unions() -> None:
    kernel = KernelTypes.of_running_kernel()
    # skc_daddr/skc_rcv_saddr and skc_dport/skc_num live in anonymous structs in unions.
    assert (
        kernel.offset_of("sock_common", "skc_rcv_saddr") == kernel.offset_of("sock_common", "skc_daddr") + 4
    )
    assert kernel.offset_of("sock_common", "skc_num") == kernel.offset_of("sock_common", "skc_dport") + 2


def test_errors() -> None:
    kernel = KernelTypes.of_running_kernel()
    with pytest.raises(BtfError, match="no field"):
        kernel.offset_of("sock_common", "no_such_field")
    with pytest.raises(BtfError, match="not in the kernel"):
        kernel.offset_of("no_such_struct", "x")
    with pytest.raises(BtfError, match="bad magic"):
        KernelTypes(b"\0" * 32)
