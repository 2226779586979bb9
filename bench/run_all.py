"""Run every benchmark, one after the other, and gather their sections into bench/RESULTS.md.

    sudo ./dev.sh bench        (or: sudo .venv/bin/python -m bench.run_all)

Nothing else should run on the machine meanwhile: each benchmark compares conditions side by side,
but a busy neighbour still widens the spread.
"""

from __future__ import annotations

import subprocess
import sys

from bench.lib import RESULTS_DIR, ROOT, conditions_line

BENCHMARKS = ("overhead", "hot_path", "monitor_cost", "startup", "bench_ui", "ui_memory")


def main() -> int:
    failed = []
    for name in BENCHMARKS:
        print(f"== bench/{name}.py", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
    sections = [
        "# Benchmark results",
        f"Written by `bench/run_all.py` on {conditions_line()}. Each section says its own conditions.",
    ]
    sections += [
        (RESULTS_DIR / f"{name}.md").read_text()
        for name in BENCHMARKS
        if (RESULTS_DIR / f"{name}.md").exists()
    ]
    (ROOT / "bench" / "RESULTS.md").write_text("\n\n".join(sections).rstrip() + "\n")
    if failed:
        print(f"failed: {', '.join(failed)}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
