"""The real ``netwatch`` command on the real probe, with a bug planted in its worker.

    python -m tests.failing_netwatch TRIGGER [netwatch arguments]

Runs ``netwatch_tui.cli.main`` with the remaining arguments. Snapshots are made as usual until the
file TRIGGER exists; from then on, building a snapshot raises RuntimeError(FAILURE) in the probe
worker thread: an unexpected exception, not a NetwatchError. The test decides when, so it can
first read which BPF programs netwatch holds. Production code has no hook for this: the wrapper
replaces the probe source's snapshot method before the CLI starts.

After netwatch returns, the wrapper checks that this process no longer holds any BPF program: at
exit the kernel would close the fds anyway, so only this check shows that the error path itself
released the probe. If any is still held, it says so on stderr (a second line the tests reject)
and exits with LEFT_HELD.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Any

from netwatch_tui import cli
from netwatch_tui.model.snapshot import Snapshot
from netwatch_tui.probe.source import ProbeSource
from tests.bpf_programs import program_ids_held_by

FAILURE = "planted failure in the snapshot source"
LEFT_HELD = 99


def plant_failure(trigger: Path) -> None:
    build = ProbeSource._snapshot  # AttributeError here, not a silently healthy run, if it is renamed

    def failing_snapshot(self: ProbeSource, *args: Any, **kwargs: Any) -> Snapshot:
        if trigger.exists():
            raise RuntimeError(FAILURE)
        return build(self, *args, **kwargs)

    ProbeSource._snapshot = failing_snapshot  # type: ignore[method-assign]


def main() -> int:
    plant_failure(Path(sys.argv.pop(1)))
    status = cli.main()
    held = program_ids_held_by(os.getpid())
    if held:
        print(f"still held after netwatch returned: BPF programs {sorted(held)}", file=sys.stderr)
        return LEFT_HELD
    return status


if __name__ == "__main__":
    raise SystemExit(main())
