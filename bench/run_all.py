"""Run every benchmark, one after the other, and gather their sections into bench/RESULTS.md.

    sudo ./dev.sh bench        (or: sudo .venv/bin/python -m bench.run_all)
    sudo .venv/bin/python -m bench.run_all --only monitor_cost startup   (some; --only alone: none)

Either way, every section found in bench/results/ is gathered into bench/RESULTS.md.

Nothing else should run on the machine meanwhile: each benchmark compares conditions side by side,
but a busy neighbour still widens the spread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys

from bench.lib import RESULTS_DIR, ROOT, conditions_line

BENCHMARKS = ("overhead", "hot_path", "monitor_cost", "startup", "bench_ui", "ui_memory")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="*", choices=BENCHMARKS, help="run these benchmarks only")
    options = parser.parse_args()
    failed = []
    for name in BENCHMARKS if options.only is None else options.only:
        print(f"== bench/{name}.py", flush=True)
        if subprocess.run([sys.executable, "-m", f"bench.{name}"], cwd=ROOT, check=False).returncode != 0:
            failed.append(name)
    sections = [
        "# Benchmark results",
        f"Gathered by `bench/run_all.py` on {conditions_line()}. Each section says its own conditions "
        "and date: a benchmark run by itself (`python -m bench.<name>`) rewrites only its own section.",
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
