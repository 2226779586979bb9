"""The compiled probe kept on disk (program_cache.py): a later run puts back the very program BCC
compiled, it counts exactly, and anything stale, damaged, refused or writable by others is
compiled afresh instead."""

from __future__ import annotations

import base64
import json
import os
import re
import socket
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple

import pytest

from netwatch_tui.probe import cache_key, compiled_probe, program_cache
from netwatch_tui.probe.attach import attach_calibrated, attach_probe
from netwatch_tui.probe.backends import TRACEPOINTS, choose_backend
from netwatch_tui.probe.bpf_objects import PROGRAM_TYPE_TRACING, load_program, map_info, program_info
from netwatch_tui.probe.handover import AttachedProbe
from netwatch_tui.probe.maps import ProbeMaps
from tests.bpf_programs import loaded_program_ids, maps_used_by_programs, still_loaded
from tests.markers import requires_bpf
from tests.transfers import tcp_peek_then_read


def _fdinfo(fd: int) -> str:
    return Path(f"/proc/self/fdinfo/{fd}").read_text()


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty cache of this test's own."""
    folder = tmp_path / "probe-cache"
    monkeypatch.setenv(program_cache.DIRECTORY_VARIABLE, str(folder))
    return folder


@pytest.fixture
def attached() -> Iterator[list[AttachedProbe]]:
    """Probes attached by the test, closed afterwards whatever happens."""
    probes: list[AttachedProbe] = []
    yield probes
    for probe in probes:
        probe.close()


def _attach(attached: list[AttachedProbe]) -> AttachedProbe:
    attached.append(attach_probe(choose_backend("auto")))
    return attached[-1]


def _programs(probe: AttachedProbe) -> list[tuple[bytes, int, str, tuple[str, ...]]]:
    """(name, type, tag, the maps it uses by name) of each program the probe holds. The kernel's tag
    hashes the instructions with their map references zeroed: the map names show the relinking."""
    map_names = {map_info(fd).id: name for name, fd in probe.map_fds.items()}
    maps_used = maps_used_by_programs()
    found = []
    for fd in probe.held_fds:
        if "prog_type:" in _fdinfo(fd):  # a link names its program too
            info = program_info(fd)
            used = tuple(map_names.get(map_id, "(another)") for map_id in maps_used[info.id])
            found.append((info.name, info.type, bytes(info.tag).hex(), tuple(sorted(used))))
    return sorted(found)


def _compiled_programs(attached: list[AttachedProbe]) -> list[tuple[bytes, int, str]]:
    """A compile's programs (it fills the cache), detached again."""
    compiled = _attach(attached)
    assert not compiled.from_cache
    programs = _programs(compiled)
    compiled.close()
    return programs


def _entry(cache: Path) -> Path:
    return cache / f"{choose_backend('auto').name}.json"


def _map_shapes(probe: AttachedProbe) -> dict[str, tuple[int, int, int, int, int, bytes]]:
    shapes = {}
    for name, fd in probe.map_fds.items():
        info = map_info(fd)
        shapes[name] = (
            info.type,
            info.key_size,
            info.value_size,
            info.max_entries,
            info.map_flags,
            info.name,
        )
    return shapes


@requires_bpf
def test_a_later_run_puts_back_the_program_bcc_compiled(cache: Path, attached: list[AttachedProbe]) -> None:
    compiled = _attach(attached)
    assert not compiled.from_cache
    entry = _entry(cache)
    assert oct(cache.stat().st_mode & 0o777) == "0o700"
    assert oct(entry.stat().st_mode & 0o777) == "0o600"

    restored = _attach(attached)
    assert restored.from_cache
    assert len(_programs(restored)) >= 5
    assert _programs(restored) == _programs(compiled)
    assert _map_shapes(restored) == _map_shapes(compiled)
    # Its own maps, not the first probe's: each run starts from empty counters.
    assert set(restored.map_fds.values()).isdisjoint(compiled.map_fds.values())
    assert {map_info(fd).id for fd in restored.map_fds.values()}.isdisjoint(
        map_info(fd).id for fd in compiled.map_fds.values()
    )


def _own_transfers(tcp_bytes: int, datagrams: list[int]) -> None:
    """Move known bytes over loopback, both ends in this process (TCP ones peeked at first: counted once)."""
    tcp_peek_then_read(tcp_bytes)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as receiver:
        receiver.bind(("127.0.0.1", 0))
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sender:
            for size in datagrams:
                sender.sendto(b"u" * size, receiver.getsockname())
                assert len(receiver.recv(1 << 16)) == size


@requires_bpf
def test_the_restored_probe_counts_exact_bytes(cache: Path, attached: list[AttachedProbe]) -> None:
    _attach(attached).close()  # compiled: fills the cache
    restored = _attach(attached)
    assert restored.from_cache
    maps = ProbeMaps(restored)
    maps.take_processes()  # what came before this test's transfers
    _own_transfers(50_001, [1, 1400, 65_000])
    readings = [r for r in maps.take_processes() if r.tgid == os.getpid()]
    expected = 50_001 + 1 + 1400 + 65_000
    assert (sum(r.counts.all.tx for r in readings), sum(r.counts.all.rx for r in readings)) == (
        expected,
        expected,
    )


@requires_bpf
def test_the_socket_hooks_are_tp_btf_programs_compiled_and_restored(
    cache: Path, attached: list[AttachedProbe]
) -> None:
    """The send and receive hooks run as BTF-typed raw tracepoints, for which the kernel builds no
    tracepoint record: in a compile, and in the probe put back from the cache alike."""
    if choose_backend("auto") != TRACEPOINTS:
        pytest.skip("the kprobe backend has no tp_btf hooks")
    compiled, restored = _attach(attached), _attach(attached)
    assert (compiled.from_cache, restored.from_cache) == (False, True)
    for probe in (compiled, restored):
        texts = [_fdinfo(fd) for fd in probe.held_fds]
        links = sorted(
            re.search(r"^tp_name:\s+(\S+)", text, re.MULTILINE).group(1)
            for text in texts
            if re.search(r"^link_type:\s+raw_tracepoint", text, re.MULTILINE)
        )
        assert links == ["sock_recv_length", "sock_send_length"]
        tracing = [
            program_info(fd).name
            for fd, text in zip(probe.held_fds, texts)
            if re.search(rf"^prog_type:\s+{PROGRAM_TYPE_TRACING}$", text, re.MULTILINE)
        ]
        assert sorted(tracing) == [b"sock_recv_lengt", b"sock_send_lengt"]  # the kernel keeps 15 characters


@requires_bpf
def test_closing_a_restored_probe_detaches_it(cache: Path, attached: list[AttachedProbe]) -> None:
    programs = _compiled_programs(attached)
    restored = _attach(attached)
    ids = {program_info(fd).id for fd in restored.held_fds if "prog_type:" in _fdinfo(fd)}
    assert len(ids) == len(programs) and ids <= loaded_program_ids()
    restored.close()
    assert not still_loaded(ids)


@requires_bpf
def test_other_map_sizes_are_another_program(
    cache: Path, attached: list[AttachedProbe], monkeypatch: pytest.MonkeyPatch
) -> None:
    _attach(attached).close()
    monkeypatch.setenv("NETWATCH_SOCK_ENTRIES", "4096")
    resized = _attach(attached)
    assert not resized.from_cache
    assert map_info(resized.map_fds["socks"]).max_entries == 4096
    again = _attach(attached)
    assert again.from_cache
    assert map_info(again.map_fds["socks"]).max_entries == 4096


@requires_bpf
@pytest.mark.parametrize(
    "spoil",
    [
        pytest.param(lambda entry: entry.write_text("{not json"), id="not JSON"),
        pytest.param(lambda entry: entry.write_text("{}"), id="no fields"),
        pytest.param(lambda entry: _edit(entry, _an_older_format), id="another format"),
        pytest.param(lambda entry: _edit(entry, _reference_past_the_end), id="a reference past the end"),
        pytest.param(lambda entry: _edit(entry, _one_map_less), id="a map missing"),
        pytest.param(lambda entry: _edit(entry, _a_wider_value), id="a map of another layout"),
        pytest.param(lambda entry: _edit(entry, _half_an_instruction), id="half an instruction"),
        pytest.param(lambda entry: _edit(entry, _attached_elsewhere("uprobe:x")), id="an unknown attachment"),
        pytest.param(
            lambda entry: _edit(entry, _attached_elsewhere("tracepoint:sock:gone")), id="a missing tracepoint"
        ),
        pytest.param(lambda entry: _edit(entry, _attached_elsewhere("kprobe:gone")), id="a missing function"),
        pytest.param(
            lambda entry: _edit(entry, _loaded_for_another_type), id="a tp_btf hook of another type"
        ),
        pytest.param(lambda entry: entry.chmod(0o622), id="writable by others"),
        pytest.param(lambda entry: _moved_behind_a_link(entry), id="a symbolic link"),
        pytest.param(lambda entry: _moved_behind_a_link(entry.parent), id="in a directory that is a link"),
        pytest.param(lambda entry: entry.parent.chmod(0o777), id="in a directory writable by others"),
        pytest.param(lambda entry: os.chown(entry, 65534, 0), id="owned by another user"),
    ],
)
def test_a_damaged_or_untrusted_entry_is_compiled_afresh(
    cache: Path, attached: list[AttachedProbe], spoil
) -> None:
    programs = _compiled_programs(attached)
    spoil(_entry(cache))
    fresh = _attach(attached)
    assert not fresh.from_cache
    assert _programs(fresh) == programs


def _moved_behind_a_link(path: Path) -> None:
    """``path`` moved aside, a symbolic link to it in its place: what it holds is still root's."""
    target = path.with_name(path.name + ".real")
    path.rename(target)
    path.symlink_to(target)


def _edit(entry: Path, change) -> None:
    document = json.loads(entry.read_text())
    change(document)
    entry.write_text(json.dumps(document))


def _an_older_format(document: dict) -> None:
    document["format"] = program_cache.FORMAT - 1


def _reference_past_the_end(document: dict) -> None:
    program = document["programs"][0]
    program["map_references"][0][0] = 10**6


def _attached_elsewhere(attachment: str):
    def change(document: dict) -> None:
        document["programs"][-1]["attachments"] = [attachment]

    return change


def _attached_elsewhere_by_name(name: str, attachments: list[str]):
    def change(document: dict) -> None:
        (program,) = [program for program in document["programs"] if program["name"].startswith(name)]
        program["attachments"] = attachments

    return change


def _loaded_for_another_type(document: dict) -> None:
    (program,) = [program for program in document["programs"] if program["name"].startswith("sock_send")]
    assert program["attach_btf_id"] > 0
    program["attach_btf_id"] = 1  # the kernel's first type, no tracepoint's


def _one_map_less(document: dict) -> None:
    document["maps"].pop()


def _a_wider_value(document: dict) -> None:
    document["maps"][0]["value_size"] += 8


def _half_an_instruction(document: dict) -> None:
    document["programs"][0]["instructions"] = "AAAA"  # base64 of three bytes


def _exit_first(document: dict) -> None:
    """An exit (0x95) first: the verifier refuses to return R0 before it is set."""
    last = document["programs"][-1]
    code = bytearray(base64.b64decode(last["instructions"]))
    code[0:8] = struct.pack("<BBhi", 0x95, 0, 0, 0)
    last["instructions"] = base64.b64encode(bytes(code)).decode()


def _a_map_of_no_entries(document: dict) -> None:
    """The kernel refuses to create a map of 0 entries: the maps before it were created already."""
    document["maps"][3]["max_entries"] = 0


@requires_bpf
@pytest.mark.parametrize(
    "refused", [pytest.param(_exit_first, id="a program"), pytest.param(_a_map_of_no_entries, id="a map")]
)
def test_an_entry_the_kernel_refuses_is_compiled_afresh_and_replaced(
    cache: Path, attached: list[AttachedProbe], refused
) -> None:
    _attach(attached).close()
    _edit(_entry(cache), refused)
    fds_before = set(os.listdir("/proc/self/fd"))

    fresh = _attach(attached)
    assert not fresh.from_cache
    # What the refused attempt had created (maps, programs, perf events) is closed.
    assert set(os.listdir("/proc/self/fd")) - fds_before == {
        str(fd) for fd in [*fresh.map_fds.values(), *fresh.held_fds]
    }
    assert _attach(attached).from_cache  # the compile wrote a good entry in its place


@requires_bpf
def test_a_cached_probe_that_miscounts_is_dropped_and_compiled_afresh(
    cache: Path, attached: list[AttachedProbe]
) -> None:
    """Loaded and attached, but its send program attached nowhere: the calibration finds TX
    uncounted, so netwatch compiles instead, and the next run puts back the good compile."""
    programs = _compiled_programs(attached)
    _edit(_entry(cache), _attached_elsewhere_by_name("sock_send", []))
    maps, readings = attach_calibrated(choose_backend("auto"))
    try:
        assert not maps.from_cache
        assert readings
    finally:
        maps.close()
    restored = _attach(attached)
    assert restored.from_cache
    assert _programs(restored) == programs


@requires_bpf
def test_the_verifiers_reason_is_in_the_error() -> None:
    exit_first = struct.pack("<BBhi", 0x95, 0, 0, 0)
    with pytest.raises(OSError, match="R0 !read_ok"):
        load_program(5, b"refused", exit_first, b"GPL")


@requires_bpf
def test_the_cache_can_be_turned_off(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, attached: list[AttachedProbe]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(program_cache.DIRECTORY_VARIABLE, "off")
    assert not _attach(attached).from_cache
    assert not _attach(attached).from_cache
    assert list(tmp_path.iterdir()) == []


def _load_imm64(source: int, immediate: int) -> bytes:
    """A 64-bit load of ``immediate`` into R1: two slots, the second holding the upper half."""
    return struct.pack("<BBhi", 0x18, 1 | source << 4, 0, immediate) + struct.pack("<BBhi", 0, 0, 0, 0)


def test_a_map_only_the_programs_use_is_kept_after_the_probes_own() -> None:
    map_fds = [40, 41]
    assert compiled_probe.split_references(_load_imm64(1, 99) + _load_imm64(1, 40), map_fds) == (
        _load_imm64(1, 0) * 2,
        ((0, 2), (2, 0)),
    )
    assert map_fds == [40, 41, 99]


def test_map_references_are_taken_out_and_linked_again() -> None:
    exit_insn = struct.pack("<BBhi", 0x95, 0, 0, 0)
    code = _load_imm64(1, 41) + _load_imm64(0, 41) + _load_imm64(1, 40) + exit_insn
    stripped, references = compiled_probe.split_references(code, [40, 41])
    assert references == ((0, 1), (4, 0))
    assert stripped == _load_imm64(1, 0) + _load_imm64(0, 41) + _load_imm64(1, 0) + exit_insn
    program = compiled_probe.CachedProgram(b"f", 5, ("tracepoint:sock:x",), b"GPL", stripped, references, 0)
    assert program.linked([7, 8]) == _load_imm64(1, 8) + _load_imm64(0, 41) + _load_imm64(1, 7) + exit_insn


@pytest.mark.parametrize(
    "code",
    [
        pytest.param(_load_imm64(2, 40), id="a map value (global data)"),
        pytest.param(b"\0" * 12, id="half an instruction"),
    ],
)
def test_code_that_cannot_be_relinked_is_not_kept(code: bytes) -> None:
    assert compiled_probe.split_references(code, [40, 41]) is None


@requires_bpf
@pytest.mark.parametrize("variable", ["NETWATCH_PROC_ENTRIES", "BCC_LINUX_VERSION_CODE", "BCC_KERNEL_SOURCE"])
def test_the_key_changes_with_what_the_compile_reads(monkeypatch: pytest.MonkeyPatch, variable: str) -> None:
    backend = choose_backend("auto")
    before = cache_key.key(backend)
    monkeypatch.setenv(variable, "4096")
    assert before is not None and cache_key.key(backend) not in (None, before)


@requires_bpf
def test_the_key_changes_with_the_program_text() -> None:
    backend = choose_backend("auto")
    other_source = "kprobes.c" if backend.source_file == "tracepoints.c" else "tracepoints.c"
    other = backend._replace(source_file=other_source)
    assert cache_key.key(other) not in (None, cache_key.key(backend))


class _BccProgram(NamedTuple):
    """The part of BCC's BPF object that says where its functions are attached."""

    tracepoint_fds: dict[bytes, int]
    raw_tracepoint_fds: dict[bytes, int]
    kprobe_fds: dict[bytes, dict[bytes, int]]


def test_attachments_are_read_from_bccs_bookkeeping() -> None:
    program = _BccProgram(
        {b"sched:sched_process_exit": 3},
        {b"sock_recv_length": 7},
        {b"p_foo_isra_0": {b"entry": 4}, b"r_foo_isra_0": {b"leave": 5}, b"r_bar": {b"leave": 6}},
    )
    assert compiled_probe.attachments_of(program, ["bar", "foo.isra.0"]) == {
        b"tracepoint__sched__sched_process_exit": ["tracepoint:sched:sched_process_exit"],
        b"sock_recv_length": ["tp_btf:sock_recv_length"],
        b"entry": ["kprobe:foo.isra.0"],
        b"leave": ["kretprobe:foo.isra.0", "kretprobe:bar"],
    }
    # A kprobe on a function the backend did not ask for: its true name cannot be told.
    assert compiled_probe.attachments_of(program, ["bar"]) is None
