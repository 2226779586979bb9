"""An unexpected exception in the probe worker, headless: netwatch ends at once with one line on
stderr and a non-zero status, what it printed before is whole, and no BPF program outlives it.
(The TUI's side of this exit path is in tests/tui/test_e2e_tmux.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from tests.bpf_programs import loaded_program_ids, program_ids_held_by, still_loaded
from tests.failing_netwatch import FAILURE
from tests.markers import requires_bpf
from tests.netwatch_run import NetwatchRun

pytestmark = requires_bpf


def test_worker_exception_ends_json_output_with_one_line_and_detaches(tmp_path: Path) -> None:
    trigger = tmp_path / "fail now"
    run = NetwatchRun(str(trigger), "--format", "json", "--interval", "0.3", module="tests.failing_netwatch")
    try:
        records = [run.next_record(timeout=60) for _ in range(2)]
        ours = program_ids_held_by(run.process.pid)
        assert len(ours) >= 5, "send, recv, socket close, exit and exec hooks (at least) load while it runs"
        assert ours <= loaded_program_ids()
        trigger.touch()
        # Until netwatch closes stdout; a netwatch that hangs after the failure fails here (timeout).
        while (line := run.next_line(timeout=20)) is not None:
            records.append(json.loads(line))
    finally:
        status, errors = run.stop()
    assert status == 1, errors  # not LEFT_HELD: the error path released the probe before returning
    assert errors.count("\n") == 1 and errors.endswith("\n"), f"not one line: {errors!r}"
    assert errors.startswith("netwatch: ") and f"RuntimeError: {FAILURE}" in errors
    assert all(isinstance(record["processes"], list) for record in records)
    assert not still_loaded(ours), "a program outlived netwatch"
