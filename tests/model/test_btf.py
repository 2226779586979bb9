"""Struct offsets from the running kernel's BTF, checked against bpftool's reading of the same BTF."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess

import pytest

from netwatch_tui.probe.btf import VMLINUX_BTF, BtfError, KernelTypes

pytestmark = pytest.mark.skipif(not VMLINUX_BTF.exists(), reason="the kernel has no BTF")


def bpftool_dump() -> str:
    return subprocess.run(
        ["bpftool", "btf", "dump", "file", str(VMLINUX_BTF), "format", "raw"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout


def bpftool_offsets(struct: str) -> dict[str, int]:
    block = bpftool_dump().split(f"STRUCT '{struct}'", 1)[1].split("\n[", 1)[0]
    return {
        name: int(bits) // 8 for name, bits in re.findall(r"'(\w+)' type_id=\d+ bits_offset=(\d+)", block)
    }


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="needs bpftool (./dev.sh setup installs it)")
def test_named_fields_match_bpftool() -> None:
    kernel = KernelTypes.of_running_kernel()
    expected = bpftool_offsets("sock_common")
    for field in ("skc_family", "skc_v6_daddr", "skc_v6_rcv_saddr", "skc_state"):
        assert kernel.offset_of("sock_common", field) == expected[field]


@pytest.mark.skipif(shutil.which("bpftool") is None, reason="needs bpftool (./dev.sh setup installs it)")
def test_tracepoint_typedef_ids_match_bpftool() -> None:
    """The BTF types tp_btf programs are loaded for; a struct of the same name is not one."""
    dump = bpftool_dump()
    kernel = KernelTypes.of_running_kernel()
    for name in ("btf_trace_sock_send_length", "btf_trace_sock_recv_length", "u32"):
        (expected,) = re.findall(rf"^\[(\d+)\] TYPEDEF '{name}'", dump, re.MULTILINE)
        assert kernel.typedef_id(name) == int(expected)
    with pytest.raises(BtfError, match="typedef sock_common not in"):
        kernel.typedef_id("sock_common")


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


def _blob_with_one_type(info: int) -> bytes:
    """A BTF blob holding one type record (name 0, ``info``, size 4) and an empty string table."""
    header = struct.pack("<HBBIIIII", 0xEB9F, 1, 0, 24, 0, 12, 12, 1)
    return header + struct.pack("<III", 0, info, 4) + b"\0"


def test_an_unknown_kind_or_a_truncated_blob_is_an_error_not_a_misreading() -> None:
    with pytest.raises(BtfError, match="unknown BTF kind 31"):
        KernelTypes(_blob_with_one_type(31 << 24))
    with pytest.raises(BtfError, match="truncated"):
        KernelTypes(_blob_with_one_type(1 << 24)[:-6])  # an INT whose record is cut short
