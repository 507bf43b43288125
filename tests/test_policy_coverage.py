"""Every branch of the policy rules is exercised by the policy tests: coverage.py measures
policy/rules.py while tests/test_policy.py runs (its rule cases, not the whole-stack runs, which
add no branch), and the figure is printed."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from .conftest import ROOT

RULES_FILE = "policy/rules.py"
# The cases and the adapter tests; the real stacks and `omni check` run every stack, slowly.
POLICY_TESTS = "not real_stacks and not omni_check and not pack_loads"
TARGET_PERCENT = 100.0


def test_every_branch_of_the_policy_rules_is_exercised(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    environment = {**os.environ, "COVERAGE_FILE": str(tmp_path / ".coverage"), "PYTHONPATH": str(ROOT)}
    measure = [sys.executable, "-m", "coverage", "run", "--branch", f"--include={RULES_FILE}", "-m", "pytest"]
    run = subprocess.run(
        [*measure, "-q", "-p", "no:cacheprovider", "tests/test_policy.py", "-k", POLICY_TESTS],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert run.returncode == 0, run.stdout[-4000:] + run.stderr[-2000:]
    report = tmp_path / "coverage.json"
    subprocess.run(
        [sys.executable, "-m", "coverage", "json", "-q", "-o", str(report), f"--include={RULES_FILE}"],
        cwd=ROOT,
        env=environment,
        check=True,
        timeout=120,
    )
    [measured] = json.loads(report.read_text())["files"].values()
    totals = measured["summary"]
    with capsys.disabled():
        print(
            f"\n{RULES_FILE}: {totals['percent_covered']:.1f}% covered, "
            f"branches {totals['covered_branches']}/{totals['num_branches']}, "
            f"lines {totals['covered_lines']}/{totals['num_statements']}"
        )

    assert totals["percent_covered"] >= TARGET_PERCENT, (
        f"missing lines {measured['missing_lines']}, missing branches {measured['missing_branches']}"
    )
