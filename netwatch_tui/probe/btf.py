"""Field offsets of kernel structs, read from the running kernel's BTF (/sys/kernel/btf/vmlinux).

BCC compiles against whatever headers are installed, which on a kernel without its own headers
package are another version's: their struct layouts can silently differ. The few struct fields the
probe reads are therefore located here, from the running kernel's own type information, and passed
to the BPF program as compile-time constants.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")

_BTF_MAGIC = 0xEB9F
_KIND_STRUCT = 4
_KIND_UNION = 5
# Bytes that follow the 12-byte common header, per kind: fixed, and per vlen entry.
_FIXED_EXTRA = {1: 4, 3: 12, 14: 4, 17: 4}  # INT, ARRAY, VAR, DECL_TAG
_PER_VLEN_EXTRA = {
    4: 12,
    5: 12,
    6: 8,
    13: 8,
    15: 12,
    19: 12,
}  # STRUCT, UNION, ENUM, FUNC_PROTO, DATASEC, ENUM64


class BtfError(Exception):
    """The BTF blob is missing, malformed, or lacks a wanted struct or field."""


@dataclass(frozen=True)
class _Member:
    name: str
    type_id: int
    bit_offset: int


@dataclass(frozen=True)
class _Composite:
    name: str
    members: tuple[_Member, ...]


class KernelTypes:
    """The struct and union types of one BTF blob, by id and by name."""

    def __init__(self, blob: bytes) -> None:
        magic, _version, _flags, header_len = struct.unpack_from("<HBBI", blob, 0)
        if magic != _BTF_MAGIC:
            raise BtfError("not a BTF blob (bad magic)")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
        types = blob[header_len + type_off : header_len + type_off + type_len]
        self._strings = blob[header_len + str_off : header_len + str_off + str_len]
        self._composites: dict[int, _Composite] = {}
        self._by_name: dict[str, int] = {}
        self._parse(types)

    @classmethod
    def of_running_kernel(cls) -> KernelTypes:
        try:
            return cls(VMLINUX_BTF.read_bytes())
        except OSError as exc:
            raise BtfError(f"cannot read {VMLINUX_BTF}: {exc.strerror}") from exc

    def _string(self, offset: int) -> str:
        end = self._strings.index(b"\0", offset)
        return self._strings[offset:end].decode()

    def _parse(self, types: bytes) -> None:
        position, type_id = 0, 1
        while position < len(types):
            name_off, info, _size_or_type = struct.unpack_from("<III", types, position)
            kind = (info >> 24) & 0x1F
            vlen = info & 0xFFFF
            kind_flag = info >> 31
            body = position + 12
            if kind in (_KIND_STRUCT, _KIND_UNION):
                members = []
                for index in range(vlen):
                    m_name, m_type, m_offset = struct.unpack_from("<III", types, body + 12 * index)
                    bit_offset = m_offset & 0xFFFFFF if kind_flag else m_offset
                    members.append(_Member(self._string(m_name), m_type, bit_offset))
                name = self._string(name_off)
                self._composites[type_id] = _Composite(name, tuple(members))
                if name and kind == _KIND_STRUCT:
                    self._by_name.setdefault(name, type_id)
            position = body + _FIXED_EXTRA.get(kind, 0) + _PER_VLEN_EXTRA.get(kind, 0) * vlen
            type_id += 1

    def _find(self, composite_id: int, field: str, base_bits: int) -> int | None:
        for member in self._composites[composite_id].members:
            if member.name == field:
                return base_bits + member.bit_offset
            if not member.name and member.type_id in self._composites:
                found = self._find(member.type_id, field, base_bits + member.bit_offset)
                if found is not None:
                    return found
        return None

    def offset_of(self, struct_name: str, field: str) -> int:
        """Byte offset of ``field`` in ``struct struct_name``, looking through anonymous members."""
        type_id = self._by_name.get(struct_name)
        if type_id is None:
            raise BtfError(f"struct {struct_name} not in the kernel's BTF")
        bits = self._find(type_id, field, 0)
        if bits is None:
            raise BtfError(f"struct {struct_name} has no field {field}")
        if bits % 8:
            raise BtfError(f"{struct_name}.{field} is a bit field")
        return bits // 8
