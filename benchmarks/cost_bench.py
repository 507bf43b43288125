"""What pricing a graph adds to a preview: `omni cost` against `omni preview`, per stack.

    .venv/bin/python benchmarks/cost_bench.py [--repeat N] [--stacks dev,staging,prod]

Fresh processes in the project's venv, after one untimed warm-up of each command: the median wall
time of `omni preview --stack S` and of `omni cost --stack S --brief` (which runs the same preview,
then loads the price table and prices the graph; on a busy machine their difference is mostly
noise), and the median time a fresh process takes to import `cost`, load the price table and
price the committed snapshot: what pricing really adds. The target (under 10 % of a preview's time)
is printed next to the figures; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OMNI = ROOT / ".venv" / "bin" / "omni"
TARGET = 0.10


def wall(command: list[str], repeat: int) -> float:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)  # warm-up
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        subprocess.run(command, cwd=ROOT, env=env, check=True, capture_output=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


FIRST_ESTIMATE = """
import json, sys, time
import stackconfig.model, yaml  # a preview has loaded them (the config models, the stack file reader)
start = time.perf_counter()
from cost.model import estimate_graph
graph = json.loads(open(sys.argv[1], encoding="utf-8").read())
estimate_graph(graph)
print(time.perf_counter() - start)
"""


def first_estimate(stack: str, repeat: int) -> float:
    """In a fresh process that has imported what a preview already has (the config models, yaml): import
    `cost`, load and validate the price table, price the committed snapshot (reading it included:
    a few ms). That is what `omni cost` adds to a preview."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    python = ROOT / ".venv" / "bin" / "python"
    snapshot = str(ROOT / "snapshots" / f"{stack}.json")
    times = []
    for _ in range(repeat):
        done = subprocess.run(
            [str(python), "-c", FIRST_ESTIMATE, snapshot], cwd=ROOT, env=env, check=True, capture_output=True, text=True
        )
        times.append(float(done.stdout.strip()))
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description="What pricing a graph adds to a preview, per stack.")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--stacks", default="dev,staging,prod")
    args = parser.parse_args()
    print(f"{'stack':<8} {'preview s':>10} {'cost s':>8} {'added':>8} {'estimate ms':>12} {'estimate/preview':>17}")
    for stack in args.stacks.split(","):
        preview = wall([str(OMNI), "preview", "--stack", stack], args.repeat)
        cost = wall([str(OMNI), "cost", "--stack", stack, "--brief"], args.repeat)
        estimate = first_estimate(stack, args.repeat)
        print(
            f"{stack:<8} {preview:>10.3f} {cost:>8.3f} {(cost - preview) / preview:>+8.1%} "
            f"{estimate * 1000:>12.1f} {estimate / preview:>17.1%}"
        )
    print(f"target: pricing adds under {TARGET:.0%} to a preview's time")


if __name__ == "__main__":
    main()
