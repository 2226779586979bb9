"""The few bpf(2) map commands the monitor needs, through ctypes: no BCC in the long-lived process.

BCC (and the LLVM inside it) costs 60-120 MB of memory; once a short-lived child has compiled and
attached the program, reading its maps needs nothing but this system call.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import platform

_SYSCALL_BPF = {"x86_64": 321, "aarch64": 280, "armv7l": 386, "ppc64le": 361, "s390x": 351, "riscv64": 280}
_MAP_LOOKUP_ELEM = 1
_MAP_UPDATE_ELEM = 2
_MAP_DELETE_ELEM = 3
_MAP_LOOKUP_BATCH = 24
_MAP_LOOKUP_AND_DELETE_BATCH = 25
_FIRST_CHUNK = 1024

_libc = ctypes.CDLL(None, use_errno=True)
_libc.syscall.restype = ctypes.c_long


class _ElementAttr(ctypes.Structure):
    _fields_ = (
        ("map_fd", ctypes.c_uint32),
        ("pad", ctypes.c_uint32),
        ("key", ctypes.c_uint64),
        ("value", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    )


class _BatchAttr(ctypes.Structure):
    _fields_ = (
        ("in_batch", ctypes.c_uint64),
        ("out_batch", ctypes.c_uint64),
        ("keys", ctypes.c_uint64),
        ("values", ctypes.c_uint64),
        ("count", ctypes.c_uint32),
        ("map_fd", ctypes.c_uint32),
        ("elem_flags", ctypes.c_uint64),
        ("flags", ctypes.c_uint64),
    )


def system_call(numbers: dict[str, int], name: str, *args: object) -> int:
    """The system call ``name``, numbered per machine in ``numbers``: its result, or OSError with
    the kernel's errno."""
    number = numbers.get(platform.machine())
    if number is None:
        raise OSError(errno.ENOSYS, f"{name}(2) number unknown for {platform.machine()}")
    result = _libc.syscall(number, *args)
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{name}: {os.strerror(code)}")
    return result


def call(command: int, attr: ctypes.Structure) -> int:
    """bpf(``command``, ``attr``)."""
    return system_call(_SYSCALL_BPF, "bpf", command, ctypes.byref(attr), ctypes.sizeof(attr))


def lookup(map_fd: int, key: ctypes._CData, value: ctypes._CData) -> bool:
    """Fill ``value`` with the element at ``key``; False if there is none."""
    attr = _ElementAttr(map_fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0)
    try:
        call(_MAP_LOOKUP_ELEM, attr)
    except FileNotFoundError:
        return False
    return True


def update(map_fd: int, key: ctypes._CData, value: ctypes._CData) -> None:
    """Set the element at ``key`` to ``value``."""
    call(_MAP_UPDATE_ELEM, _ElementAttr(map_fd, 0, ctypes.addressof(key), ctypes.addressof(value), 0))


def delete(map_fd: int, key: ctypes._CData) -> bool:
    """Remove the element at ``key``; False if there was none."""
    try:
        call(_MAP_DELETE_ELEM, _ElementAttr(map_fd, 0, ctypes.addressof(key), 0, 0))
    except FileNotFoundError:
        return False
    return True


def read_array(map_fd: int, entries: int, value_size: int) -> bytes:
    """The values of an array map of ``entries`` elements, one after another, in one system call."""
    keys = (ctypes.c_uint32 * entries)()
    values = ctypes.create_string_buffer(entries * value_size)
    token = ctypes.c_uint64()
    attr = _BatchAttr(
        out_batch=ctypes.addressof(token),
        keys=ctypes.addressof(keys),
        values=ctypes.addressof(values),
        count=entries,
        map_fd=map_fd,
    )
    with contextlib.suppress(FileNotFoundError):  # ENOENT: the end was reached within this call
        call(_MAP_LOOKUP_BATCH, attr)
    if attr.count != entries:
        raise OSError(errno.EIO, f"array map read {attr.count} of {entries} elements")
    return values.raw


def read_all(map_fd: int, key_type: type, value_type: type, delete_read: bool = False) -> list[tuple]:
    """Every (key, value) of a hash map, as indexing ctypes arrays of the two types gives them."""
    keys, values, count = read_all_raw(
        map_fd, ctypes.sizeof(key_type), ctypes.sizeof(value_type), delete_read
    )
    return list(zip((key_type * count).from_buffer_copy(keys), (value_type * count).from_buffer_copy(values)))


def read_all_raw(
    map_fd: int, key_size: int, value_size: int, delete_read: bool = False
) -> tuple[bytes, bytes, int]:
    """Every key and value of a hash map, each set one after another in bytes, and their count; read
    in chunks (BPF_MAP_LOOKUP[_AND_DELETE]_BATCH). Bytes rather than ctypes objects: the process
    map is read every interval, and a ctypes object per entry cost more than the decoding.

    With ``delete_read``, each element is removed as it is read, atomically: an element updated by
    the kernel meanwhile is either in this read or left for the next one, never lost.
    """
    command = _MAP_LOOKUP_AND_DELETE_BATCH if delete_read else _MAP_LOOKUP_BATCH
    chunk = _FIRST_CHUNK
    token_in, token_out = ctypes.c_uint64(), ctypes.c_uint64()
    found_keys, found_values, count = [], [], 0
    first = True
    while True:
        keys, values = (
            ctypes.create_string_buffer(chunk * key_size),
            ctypes.create_string_buffer(chunk * value_size),
        )
        attr = _BatchAttr(
            in_batch=0 if first else ctypes.addressof(token_in),
            out_batch=ctypes.addressof(token_out),
            keys=ctypes.addressof(keys),
            values=ctypes.addressof(values),
            count=chunk,
            map_fd=map_fd,
        )
        try:
            call(command, attr)
            done = False
        except FileNotFoundError:  # ENOENT: this was the last batch (possibly partial, possibly empty)
            done = True
        except OSError as exc:
            if exc.errno == errno.ENOSPC:  # one bucket holds more than a chunk: retry larger
                chunk *= 4
                continue
            raise
        found_keys.append(keys.raw[: attr.count * key_size])
        found_values.append(values.raw[: attr.count * value_size])
        count += attr.count
        if done:
            return b"".join(found_keys), b"".join(found_values), count
        token_in.value = token_out.value
        first = False
