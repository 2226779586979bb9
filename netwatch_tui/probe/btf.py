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
_KIND_TYPEDEF = 8
_LAST_KNOWN_KIND = 19  # ENUM64
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


class KernelTypes:
    """The struct and union types of one BTF blob, by id and by name.

    Only each type's position is recorded while scanning (a kernel has some hundred thousand types);
    a struct's members are decoded when a field of it is asked for. That keeps start-up short.
    """

    def __init__(self, blob: bytes) -> None:
        magic, _version, _flags, header_len = struct.unpack_from("<HBBI", blob, 0)
        if magic != _BTF_MAGIC:
            raise BtfError("not a BTF blob (bad magic)")
        type_off, type_len, str_off, str_len = struct.unpack_from("<IIII", blob, 8)
        self._types = blob[header_len + type_off : header_len + type_off + type_len]
        self._strings = blob[header_len + str_off : header_len + str_off + str_len]
        self._positions = self._scan(self._types)
        self._members: dict[int, tuple[_Member, ...]] = {}
        self._struct_ids: dict[str, int | None] = {}

    @classmethod
    def of_running_kernel(cls) -> KernelTypes:
        try:
            return cls(VMLINUX_BTF.read_bytes())
        except OSError as exc:
            raise BtfError(f"cannot read {VMLINUX_BTF}: {exc.strerror}") from exc

    def _string(self, offset: int) -> str:
        end = self._strings.index(b"\0", offset)
        return self._strings[offset:end].decode()

    @staticmethod
    def _scan(types: bytes) -> list[int]:
        """Where each type starts, by id (id 0 is void and has no record)."""
        positions = [-1]
        position, end = 0, len(types)
        unpack = struct.Struct("<I").unpack_from
        fixed, per_vlen = _FIXED_EXTRA.get, _PER_VLEN_EXTRA.get
        while position < end:
            positions.append(position)
            try:
                info = unpack(types, position + 4)[0]
            except struct.error as exc:
                raise BtfError("truncated BTF type section") from exc
            kind = (info >> 24) & 0x1F
            if kind > _LAST_KNOWN_KIND:  # its size is unknown: every later type would be misread
                raise BtfError(f"unknown BTF kind {kind}")
            position += 12 + fixed(kind, 0) + per_vlen(kind, 0) * (info & 0xFFFF)
        return positions

    def _header(self, type_id: int) -> tuple[int, int, int, int]:
        """(name offset, kind, vlen, kind_flag) of a type."""
        name_off, info = struct.unpack_from("<II", self._types, self._positions[type_id])
        return name_off, (info >> 24) & 0x1F, info & 0xFFFF, info >> 31

    def _composite_members(self, type_id: int) -> tuple[_Member, ...] | None:
        """The members of a struct or union; None for any other kind of type."""
        if type_id in self._members:
            return self._members[type_id]
        if not 0 < type_id < len(self._positions):
            return None
        _, kind, vlen, kind_flag = self._header(type_id)
        if kind not in (_KIND_STRUCT, _KIND_UNION):
            return None
        body = self._positions[type_id] + 12
        members = []
        for index in range(vlen):
            m_name, m_type, m_offset = struct.unpack_from("<III", self._types, body + 12 * index)
            bit_offset = m_offset & 0xFFFFFF if kind_flag else m_offset
            members.append(_Member(self._string(m_name), m_type, bit_offset))
        self._members[type_id] = tuple(members)
        return self._members[type_id]

    def _struct_id(self, name: str) -> int | None:
        """The first struct named ``name``."""
        if name not in self._struct_ids:
            self._struct_ids[name] = self._first_named(name, _KIND_STRUCT)
        return self._struct_ids[name]

    def typedef_id(self, name: str) -> int:
        """The id of the typedef ``name`` (a tp_btf program is loaded for the kernel's
        ``btf_trace_<tracepoint>`` typedef)."""
        type_id = self._first_named(name, _KIND_TYPEDEF)
        if type_id is None:
            raise BtfError(f"typedef {name} not in the kernel's BTF")
        return type_id

    def _first_named(self, name: str, wanted_kind: int) -> int | None:
        wanted = name.encode() + b"\0"
        offsets = set()
        start = self._strings.find(b"\0" + wanted)
        while start != -1:
            offsets.add(start + 1)
            start = self._strings.find(b"\0" + wanted, start + 1)
        for type_id in range(1, len(self._positions)):
            name_off, kind, _, _ = self._header(type_id)
            if name_off in offsets and kind == wanted_kind:
                return type_id
        return None

    def _find(self, composite_id: int, field: str, base_bits: int) -> int | None:
        for member in self._composite_members(composite_id) or ():
            if member.name == field:
                return base_bits + member.bit_offset
            if not member.name and self._composite_members(member.type_id) is not None:
                found = self._find(member.type_id, field, base_bits + member.bit_offset)
                if found is not None:
                    return found
        return None

    def offset_of(self, struct_name: str, field: str) -> int:
        """Byte offset of ``field`` in ``struct struct_name``, looking through anonymous members."""
        type_id = self._struct_id(struct_name)
        if type_id is None:
            raise BtfError(f"struct {struct_name} not in the kernel's BTF")
        bits = self._find(type_id, field, 0)
        if bits is None:
            raise BtfError(f"struct {struct_name} has no field {field}")
        if bits % 8:
            raise BtfError(f"{struct_name}.{field} is a bit field")
        return bits // 8
