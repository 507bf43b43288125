"""Wall time of `omni dashboards render` (all dashboards) and of lint, per stack.

    .venv/bin/python benchmarks/dashboards_bench.py [--repeat N] [--stacks dev,staging,prod]

Two figures per stack:
- the command as a user runs it: `omni dashboards render --out DIR --stack S` in a fresh process
  (imports included), median of N runs after one untimed warm-up; the issue's target is 2 s;
- in process, imports done: `render_dashboards(stack)` and `lint_rendered(stack)`, median of N.

The target is printed next to the figures; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OMNI = ROOT / ".venv" / "bin" / "omni"
TARGET_S = 2.0


def median_seconds(action: Callable[[], object], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def render_command(stack: str, out: Path) -> None:
    command = [str(OMNI), "dashboards", "render", "--out", str(out), "--stack", stack, "-C", str(ROOT)]
    subprocess.run(command, check=True, capture_output=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Time `omni dashboards render` and lint per stack.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stacks", default="dev,staging,prod")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT))
    from dashboards.registry import DASHBOARDS
    from offline.dashboards import lint_rendered, render_dashboards

    print(f"{len(DASHBOARDS)} dashboards; median of {args.repeat} runs; target: the command under {TARGET_S:.1f} s")
    print(f"{'stack':<8} {'omni dashboards render':>24} {'render (in process)':>20} {'lint (in process)':>18}")
    with tempfile.TemporaryDirectory() as scratch:
        for stack in args.stacks.split(","):
            out = Path(scratch) / stack
            render_command(stack, out)  # warm-up: bytecode and disk caches
            command_s = median_seconds(lambda stack=stack, out=out: render_command(stack, out), args.repeat)
            render_s = median_seconds(lambda stack=stack: render_dashboards(stack, ROOT), args.repeat)
            lint_s = median_seconds(lambda stack=stack: lint_rendered(stack, ROOT), args.repeat)
            verdict = "ok" if command_s < TARGET_S else "OVER TARGET"
            print(f"{stack:<8} {command_s:>22.3f} s {render_s:>18.3f} s {lint_s:>16.3f} s  {verdict}")


if __name__ == "__main__":
    main()
