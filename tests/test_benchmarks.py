"""The benchmark scripts still measure what they say: their synthetic project previews."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
import preview_bench


def test_the_synthetic_project_of_the_preview_benchmark_previews_the_resources_it_promises(tmp_path: Path):
    components = preview_bench.synthetic_project(tmp_path, 150)

    command = ["preview", "--stack", "bench", "-C", str(tmp_path), "--json"]
    result = subprocess.run(
        [sys.executable, "-c", "from cli.main import main; main()", *command],
        capture_output=True,
        text=True,
        env={**os.environ, "OMNI_GRAPH_CACHE": "off", "PYTHONPATH": str(ROOT)},
        timeout=300,
        check=False,
    )

    assert result.returncode == 0, result.stderr[-2000:]
    networks = [r for r in json.loads(result.stdout)["resources"] if r["type"] == "omni:network:Network"]
    assert len(networks) == components == 21  # (150 - 2) / 7 resources per network, rounded
