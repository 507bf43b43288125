"""Wall time and peak memory of `omni preview` per stack, against two import baselines.

    .venv/bin/python benchmarks/preview_bench.py [--repeat N] [--stacks dev,staging,prod] [--json]

Every figure comes from a fresh process in the project's venv, after one untimed warm-up run of
the same command (disk and bytecode caches warm): wall time is the median of N runs, memory the
largest peak RSS (`ru_maxrss` from `os.wait4`) seen. Two baselines:

- bare import: `import pulumi, pulumi_gcp`. pulumi_gcp loads its submodules lazily, so this is
  cheap and is what the issue's target is stated against.
- provider classes: `import pulumi` and touch every provider class the prod graph uses
  (`gcp:compute/network:Network` -> `pulumi_gcp.compute.Network`), which loads the provider
  submodules the program really needs, with the garbage collector off as in `omni`. The gap
  between this and the preview is ours to cut.

Every preview here is a real run (`OMNI_GRAPH_CACHE=off`). Two ratios are the issue's targets:

- (a) one prod preview / the provider-classes floor (target 1.3x);
- (b) the three-stack pull-request check, `omni diff --all` then `omni check` as CI runs them
  (two processes; the second reuses the graphs the first stored) / one prod preview (target 1.5x).
  The same pair without the graph cache is printed beside it.

The targets are printed next to the figures; nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = ROOT / ".venv" / "bin"
TARGET_RATIO = 2.0  # each stack's whole `omni preview` process within 2x the bare import process
TARGET_MB = 250.0  # and under 250 MB peak RSS
MB = 1_000_000  # MB as in the target: 10^6 bytes (ru_maxrss is in KiB on Linux)
SKIPPED_TYPES = ("pulumi:pulumi:Stack",)


@dataclass(frozen=True)
class Measure:
    """Median wall time and largest peak RSS of one command over `runs` fresh processes."""

    command: list[str]
    runs: int
    wall_s: float
    wall_min_s: float
    wall_max_s: float
    peak_mb: float


@dataclass(frozen=True)
class StackResult:
    stack: str
    label: str
    resources: int
    preview: Measure
    ratio_bare: float
    ratio_classes: float
    time_target: str  # PASS or MISS, against the bare import as the issue states it
    memory_target: str


TARGET_FLOOR_RATIO = 1.3  # one prod preview within 1.3x the provider-classes floor
TARGET_PR_CHECK_RATIO = 1.5  # `omni diff --all` + `omni check` within 1.5x one stack's preview
# Every preview is a real run: the graph cache only serves the pull-request check's second command.
NO_CACHE = {"OMNI_GRAPH_CACHE": "off"}


def run_once(command: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, float]:
    """Wall seconds and peak RSS (MB) of one fresh process; its stdout is discarded."""
    with tempfile.TemporaryFile() as stderr:
        start = time.perf_counter()
        process = subprocess.Popen(
            command,
            cwd=ROOT,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            env={**os.environ, **NO_CACHE, **(env or {})},
        )
        _, status, usage = os.wait4(process.pid, 0)
        wall = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode not in ok:
            stderr.seek(0)
            tail = stderr.read().decode(errors="replace")[-2000:]
            raise SystemExit(f"{' '.join(command)} exited {process.returncode}:\n{tail}")
    return wall, usage.ru_maxrss * 1024 / MB


def measure(command: list[str], repeat: int) -> Measure:
    run_once(command)  # warm-up: page cache and __pycache__
    samples = [run_once(command) for _ in range(repeat)]
    walls = [wall for wall, _ in samples]
    return Measure(
        command=command,
        runs=repeat,
        wall_s=statistics.median(walls),
        wall_min_s=min(walls),
        wall_max_s=max(walls),
        peak_mb=max(peak for _, peak in samples),
    )


def pr_check_once(cached: bool) -> tuple[float, float]:
    """`omni diff --all` then `omni check`, as the pull-request workflow runs them: summed wall
    time, larger peak. With `cached`, they share a fresh graph cache (empty at the start)."""
    omni = str(BIN / "omni")
    with tempfile.TemporaryDirectory(prefix="omni-bench-cache-") as cache:
        env = {"OMNI_GRAPH_CACHE": "on", "OMNI_GRAPH_CACHE_DIR": cache} if cached else {}
        # diff exits 1 when something changed and check when a snapshot is stale: still full runs.
        diff_wall, diff_peak = run_once([omni, "diff", "--all"], env, ok=(0, 1))
        check_wall, check_peak = run_once([omni, "check"], env, ok=(0, 1))
    return diff_wall + check_wall, max(diff_peak, check_peak)


def measure_pr_check(cached: bool, repeat: int) -> Measure:
    pr_check_once(cached)  # warm-up
    samples = [pr_check_once(cached) for _ in range(repeat)]
    walls = [wall for wall, _ in samples]
    label = "PR check: diff --all + check" + ("" if cached else ", no cache")
    return Measure(
        command=[label],
        runs=repeat,
        wall_s=statistics.median(walls),
        wall_min_s=min(walls),
        wall_max_s=max(walls),
        peak_mb=max(peak for _, peak in samples),
    )


def preview_graph(stack: str) -> dict[str, Any]:
    """The graph `omni preview --stack S --json` prints (not timed)."""
    result = subprocess.run(
        [str(BIN / "omni"), "preview", "--stack", stack, "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, **NO_CACHE},
    )
    if result.returncode != 0:
        raise SystemExit(f"omni preview --stack {stack} --json exited {result.returncode}:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout)


def class_path(type_token: str) -> str | None:
    """The attribute path a program uses for a resource type, or None for our own components.

    `gcp:compute/network:Network` -> `pulumi_gcp.compute.Network` (the last module segment is
    the class's own file when it matches the class name), `kubernetes:apps/v1:Deployment` ->
    `pulumi_kubernetes.apps.v1.Deployment`, `random:index/randomPassword:RandomPassword` ->
    `pulumi_random.RandomPassword`, `pulumi:providers:gcp` -> `pulumi_gcp.Provider`; an API
    group keeps its first label (`kubernetes:networking.k8s.io/v1:Ingress` -> `...networking.v1`).
    """
    package, module, name = type_token.split(":", 2)
    if type_token in SKIPPED_TYPES or package == "omni":
        return None
    if package == "pulumi" and module == "providers":
        return f"pulumi_{name.replace('-', '_')}.Provider"
    parts = [part.split(".", 1)[0] for part in module.split("/")]
    if parts[-1].lower() == name.lower():
        parts = parts[:-1]
    parts = [part for part in parts if part != "index"]
    return ".".join([f"pulumi_{package.replace('-', '_')}", *parts, name])


def classes_script(paths: list[str]) -> str:
    """Python source that imports pulumi and touches each class the way the program does,
    under the same garbage-collector policy as the `omni` console script (off, no final
    collection), so that the two are measured the same way."""
    packages = sorted({path.split(".", 1)[0] for path in paths})
    gc_policy = ["import atexit, gc", "gc.disable()", "atexit.register(gc.freeze)"]
    lines = [
        *gc_policy,
        "import pulumi",
        *(f"import {package}" for package in packages),
        *(f"{path}" for path in paths),
    ]
    return "; ".join(lines)


SYNTHETIC_PROGRAM = """
import pulumi
from components.network import Network, NetworkArgs
from components.provider import google_provider
from stackconfig import NetworkConfig, load_from_runtime

config = load_from_runtime(pulumi.get_stack())
provider = google_provider(config)
for index in range({count}):
    Network(
        f"bench{{index}}",
        NetworkArgs(region=config.region, settings=NetworkConfig(subnet_cidr=f"10.{{index}}.0.0/20")),
        opts=pulumi.ResourceOptions(providers=[provider]),
    )
"""
# Everything a prod stack must name before it deploys (the loader's deployment problems).
SYNTHETIC_STACK = """config:
  gcp:project: omni-api-bench
  omni-infra:environment: prod
  omni-infra:alerting:
    ticketEmail: bench@omni.example
    pagerduty:
      onCall: [PBENCH1]
  omni-infra:deploy:
    githubRepositoryId: "812345678"
    githubOwnerId: "91234567"
  omni-infra:compliance:
    contacts:
      - email: bench@omni.example
        categories: [ALL]
"""
RESOURCES_PER_NETWORK = 7  # the component and its six children


def synthetic_project(directory: Path, resources: int) -> int:
    """A project declaring about `resources` resources with the real Network component, to see
    how the engine scales past today's stacks; returns the number of components."""
    count = max(1, round((resources - 2) / RESOURCES_PER_NETWORK))
    (directory / "Pulumi.yaml").write_text("name: omni-bench\nruntime: python\nstackConfigDir: stacks\n")
    (directory / "__main__.py").write_text(SYNTHETIC_PROGRAM.format(count=count))
    (directory / "stacks").mkdir(exist_ok=True)
    (directory / "stacks" / "Pulumi.bench.yaml").write_text(SYNTHETIC_STACK)
    return count


def machine() -> dict[str, Any]:
    return {
        "cpu_count": os.cpu_count(),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "pulumi": version("pulumi"),
        "pulumi-gcp": version("pulumi-gcp"),
    }


def verdict(ok: bool) -> str:
    return "PASS" if ok else "MISS"


def run(stacks: list[str], repeat: int, scales: list[int]) -> dict[str, Any]:
    python = str(BIN / "python")
    graphs = {stack: preview_graph(stack) for stack in dict.fromkeys([*stacks, "prod"])}
    paths = sorted({p for r in graphs["prod"]["resources"] if (p := class_path(r["type"])) is not None})
    bare = measure([python, "-c", "import pulumi, pulumi_gcp"], repeat)
    classes = measure([python, "-c", classes_script(paths)], repeat)
    previews: list[tuple[str, int, list[str]]] = [
        (stack, len(graphs[stack]["resources"]), [str(BIN / "omni"), "preview", "--stack", stack]) for stack in stacks
    ]
    labels = {stack: f"omni preview --stack {stack}" for stack in stacks}
    scratch = tempfile.TemporaryDirectory(prefix="omni-bench-")
    for size in scales:
        directory = Path(scratch.name) / str(size)
        directory.mkdir()
        synthetic_project(directory, size)
        command = [str(BIN / "omni"), "preview", "--stack", "bench", "-C", str(directory)]
        listing = subprocess.run(
            [*command, "--json"], capture_output=True, text=True, check=True, env={**os.environ, **NO_CACHE}
        )
        count = len(json.loads(listing.stdout)["resources"])
        previews.append((f"synthetic-{size}", count, command))
        labels[f"synthetic-{size}"] = f"omni preview, synthetic {size}"
    results = []
    for stack, count, command in previews:
        preview = measure(command, repeat)
        results.append(
            StackResult(
                stack=stack,
                label=labels[stack],
                resources=count,
                preview=preview,
                ratio_bare=preview.wall_s / bare.wall_s,
                ratio_classes=preview.wall_s / classes.wall_s,
                time_target=verdict(preview.wall_s <= TARGET_RATIO * bare.wall_s),
                memory_target=verdict(preview.peak_mb < TARGET_MB),
            )
        )
    pr_cached = measure_pr_check(True, repeat)
    pr_uncached = measure_pr_check(False, repeat)
    prod = next((r for r in results if r.stack == "prod"), None)
    one_stack = prod.preview if prod else measure([str(BIN / "omni"), "preview", "--stack", "prod"], repeat)
    return {
        "machine": machine(),
        "repeat": repeat,
        "targets": {
            "ratio_to_bare_import": TARGET_RATIO,
            "peak_mb": TARGET_MB,
            "prod_preview_over_classes_floor": TARGET_FLOOR_RATIO,
            "pr_check_over_one_preview": TARGET_PR_CHECK_RATIO,
        },
        "baselines": {"bare_import": asdict(bare), "provider_classes": asdict(classes), "classes": paths},
        "stacks": [asdict(result) for result in results],
        "pr_check": {"cached": asdict(pr_cached), "uncached": asdict(pr_uncached)},
        "ratios": {
            "prod_preview_over_classes_floor": one_stack.wall_s / classes.wall_s,
            "pr_check_over_one_preview": pr_cached.wall_s / one_stack.wall_s,
            "pr_check_without_cache_over_one_preview": pr_uncached.wall_s / one_stack.wall_s,
        },
    }


def render(report: dict[str, Any]) -> str:
    m = report["machine"]
    bare, classes = report["baselines"]["bare_import"], report["baselines"]["provider_classes"]
    lines = [
        f"machine: {m['cpu_count']} CPUs, {m['platform']}, Python {m['python']}, "
        f"pulumi {m['pulumi']}, pulumi-gcp {m['pulumi-gcp']}",
        f"each figure: median wall time of {report['repeat']} fresh processes after 1 warm-up; "
        "peak = largest max RSS (1 MB = 10^6 bytes)",
        "target (issue): each stack's whole omni preview process within 2x the bare import process, under 250 MB",
        "",
        f"{'process':<34}{'resources':>10}{'wall s':>9}{'min-max s':>13}{'peak MB':>9}"
        f"{'x bare':>8}{'x classes':>11}  {'time':<6}{'memory':<6}",
    ]

    def row(label: str, measured: dict[str, Any], resources: str = "", tail: str = "") -> str:
        spread = f"{measured['wall_min_s']:.2f}-{measured['wall_max_s']:.2f}"
        return f"{label:<34}{resources:>10}{measured['wall_s']:>9.3f}{spread:>13}{measured['peak_mb']:>9.1f}{tail}"

    lines.append(row("bare: import pulumi, pulumi_gcp", bare))
    lines.append(row(f"classes: {len(report['baselines']['classes'])} provider classes", classes))
    for s in report["stacks"]:
        tail = f"{s['ratio_bare']:>7.2f}x{s['ratio_classes']:>10.2f}x  {s['time_target']:<6}{s['memory_target']}"
        lines.append(row(s["label"], s["preview"], str(s["resources"]), tail))
    for key in ("cached", "uncached"):
        measured = report["pr_check"][key]
        lines.append(row(measured["command"][0], measured))
    ratios, targets = report["ratios"], report["targets"]
    floor, check = ratios["prod_preview_over_classes_floor"], ratios["pr_check_over_one_preview"]
    floor_target, check_target = targets["prod_preview_over_classes_floor"], targets["pr_check_over_one_preview"]
    lines += [
        "",
        f"(a) one prod preview / provider-classes floor: {floor:.2f}x "
        f"(target {floor_target}x: {verdict(floor <= floor_target)})",
        f"(b) three-stack PR check (omni diff --all + omni check) / one prod preview: {check:.2f}x "
        f"(target {check_target}x: {verdict(check <= check_target)}); "
        f"without the graph cache {ratios['pr_check_without_cache_over_one_preview']:.2f}x",
        "",
        "provider classes touched: " + ", ".join(report["baselines"]["classes"]),
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--repeat", type=int, default=5, help="timed runs per process (after 1 warm-up); default 5")
    parser.add_argument("--stacks", default="dev,staging,prod", help="comma-separated stacks; default dev,staging,prod")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument(
        "--scale",
        default="150,300",
        help="sizes of synthetic stacks built from the real Network component (default 150,300; '' for none)",
    )
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    stacks = [stack.strip() for stack in args.stacks.split(",") if stack.strip()]
    scales = [int(size) for size in args.scale.split(",") if size.strip()]
    report = run(stacks, args.repeat, scales)
    sys.stdout.write(json.dumps(report, indent=2, sort_keys=True) + "\n" if args.json else render(report))


if __name__ == "__main__":
    main()
