"""Mutation testing of the alert rules: each rendered alert is rewritten the ways a wrong edit
would (a threshold more and less sensitive, a window pair or branch removed, a traffic guard
dropped, `for` halved or doubled) and promtool runs the tests on every mutant. Every mutant must
fail some test; the score (killed / total) is printed.

The tests run on a mutant are the ones about its alert: the generated ones (alerts/unittests.py)
and the spec's (tests/spec_promtool.py, from the reviewed literals of tests/alert_spec.py). All
mutants go to promtool in one invocation of the cheap tests; only the survivors run the long
ones (hours of history), in a second.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from alerts.model import AlertRule, RuleGroup
from alerts.render import render_rule_files
from alerts.rules import rule_file_name, rule_groups
from alerts.tools import ToolMissing
from alerts.unittests import unit_test
from observability.durations import format_duration, parse_duration
from offline.monitoring import load_monitoring_config

from .conftest import ROOT
from .spec_promtool import CHEAP, EXPENSIVE, spec_test_files

STACK = "prod"
# Mutants of `for` are judged at production's evaluation interval: a `for` that rounds to the
# same number of evaluations is the same rule there, so that halving is replaced by no `for`.
EVALUATION_SECONDS = 30
# How far a continuous threshold moves: a fifth more or less sensitive.
MORE, LESS = 0.8, 1.25
_COMPARISON = re.compile(r"(?P<op>>=|<=|>|<)\s*(?P<number>\d+(?:\.\d+)?(?:e-?\d+)?)(?![\w.])")
_VOLUME_GUARD = re.compile(r" and on \(\) count\([^)]*\)")


@dataclass
class Mutant:
    alert: AlertRule
    group: RuleGroup
    change: str  # what was changed, in words
    expr: str
    for_: str
    pair: tuple[str, str] | None = None  # the window pair it touches, when it touches one
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # its test files (name -> data)

    @property
    def label(self) -> str:
        return f"{self.alert.name} ({self.alert.severity.value}): {self.change}"


def _number(value: float) -> str:
    return format(value, ".6g")


def _moved(alert: AlertRule, op: str, value: float, more_sensitive: bool) -> tuple[str, float]:
    """(operator, value) of the threshold moved towards firing more or less often."""
    probe = alert.probe
    is_guard = probe is not None and probe.guard is not None and value == probe.guard.threshold
    towards_lower = more_sensitive == op.startswith(">") if not is_guard else more_sensitive
    integer = probe is not None and probe.integer and not is_guard
    if integer:
        return op, value + (-1 if towards_lower else 1)
    if value == 0:
        return (op + "=", 0.0) if towards_lower and op == ">" else (op, 1.0)
    return op, value * (MORE if towards_lower else LESS)


def _for_mutants(for_: str) -> list[tuple[str, str]]:
    seconds = parse_duration(for_)
    half = seconds // 2
    same_rule = -(-half // EVALUATION_SECONDS) == -(-seconds // EVALUATION_SECONDS)
    halved = ("0s", "for dropped (half would be the same rule)") if same_rule else (format_duration(half), "for halved")
    return [(format_duration(seconds * 2), "for doubled"), (halved[0], f"{halved[1]}: {for_} -> {halved[0]}")]


def mutants_of(alert: AlertRule, group: RuleGroup) -> list[Mutant]:
    found: list[Mutant] = []
    expr = alert.expr
    pairs = {probe.threshold: (probe.long_window, probe.short_window) for probe in alert.window_probes}
    seen: set[tuple[str, float]] = set()
    for match in _COMPARISON.finditer(expr):
        op, value = match["op"], float(match["number"])
        if (op, value) in seen:
            continue
        seen.add((op, value))
        for more_sensitive in (True, False):
            new_op, new_value = _moved(alert, op, value, more_sensitive)
            pattern = re.compile(re.escape(op) + r"\s*" + re.escape(match["number"]) + r"(?![\w.])")
            mutated = pattern.sub(f"{new_op} {_number(new_value)}", expr)
            direction = "more" if more_sensitive else "less"
            found.append(
                Mutant(
                    alert,
                    group,
                    f"threshold {op} {match['number']} -> {new_op} {_number(new_value)} ({direction} sensitive)",
                    mutated,
                    alert.for_,
                    pairs.get(value),
                )
            )
    branches = expr.split("\nor\n")
    if len(branches) > 1:
        for index, branch in enumerate(branches):
            kept = "\nor\n".join(part for number, part in enumerate(branches) if number != index)
            pair = next((pairs[t] for t in pairs if _number(t) in branch), None)
            what = (
                f"window pair {pair[0]}/{pair[1]} removed" if pair else f"branch {index + 1} of {len(branches)} removed"
            )
            found.append(Mutant(alert, group, what, kept, alert.for_, pair))
    if alert.probe is not None and alert.probe.guard is not None:
        found.append(Mutant(alert, group, "traffic guard dropped", expr.rsplit("\nand\n", 1)[0], alert.for_))
    if _VOLUME_GUARD.search(expr):
        found.append(Mutant(alert, group, "pipeline guard dropped", _VOLUME_GUARD.sub("", expr), alert.for_))
    for for_, what in _for_mutants(alert.for_):
        found.append(Mutant(alert, group, what, expr, for_))
    return found


def _tests_of(alert: AlertRule, group: RuleGroup) -> dict[str, tuple[str, dict[str, Any]]]:
    """name -> (cost, test file) of the tests about `alert`: the spec's (the probes at the spec's
    thresholds and `for`, the window pairs at its ratios, the stale series) and the generated
    `for` boundary of the scenario (the generated probe tests repeat the spec's at the rule's own
    numbers, equal here, so they are left out)."""
    generated = unit_test(alert, group)
    boundary = {**generated, "tests": generated["tests"][:1]}
    return {"boundary.test.yml": (EXPENSIVE, boundary), **spec_test_files(STACK, alert, group)}


def _only_pair(data: dict[str, Any], pair: tuple[str, str] | None) -> dict[str, Any]:
    if pair is None:
        return data
    tests = [test for test in data["tests"] if f", {pair[0]}/{pair[1]} alone" in test["name"]]
    return {**data, "tests": tests}


def _stage(work: Path, index: int, mutant: Mutant, rule_text: str, cost: str) -> list[str]:
    """Write the mutant's rule file and its tests of `cost` under work/m<index>/; the test paths."""
    base = work / f"m{index}"
    (base / "rules").mkdir(parents=True, exist_ok=True)
    (base / "tests").mkdir(parents=True, exist_ok=True)
    (base / "rules" / rule_file_name(mutant.group)).write_text(rule_text)
    paths = []
    for name, (file_cost, data) in _tests_of(mutant.alert, mutant.group).items():
        if file_cost != cost:
            continue
        if name.endswith(".windows.test.yml"):
            data = _only_pair(data, mutant.pair)
            if not data["tests"]:
                continue
        path = base / "tests" / name
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        paths.append(str(path.relative_to(work)))
    return paths


def _mutated_rule_file(original: str, mutant: Mutant) -> str:
    data = yaml.safe_load(original)
    for rule in data["groups"][0]["rules"]:
        if rule.get("alert") == mutant.alert.name and rule["labels"]["severity"] == mutant.alert.severity.value:
            rule["expr"] = mutant.expr
            rule["for"] = mutant.for_
    return yaml.safe_dump(data, sort_keys=False, width=1000)


def _failed_dirs(output: str) -> set[str]:
    """The m<index> directories with a failing test file, from promtool's report (stdout names
    each file, stderr says FAILED: read in the order written)."""
    failed, current = set(), None
    for line in output.splitlines():
        if line.startswith("Unit Testing:"):
            current = line.split(":", 1)[1].strip().split("/", 1)[0]
        elif "FAILED" in line and current is not None:
            failed.add(current)
    return failed


def _run_pass(work: Path, staged: dict[int, list[str]]) -> set[int]:
    """One promtool invocation over every staged test file; the indices with a failure."""
    paths = [path for files in staged.values() for path in files]
    if not paths:
        return set()
    promtool = shutil.which("promtool")
    if promtool is None:
        raise ToolMissing("promtool is not installed: `apt-get install prometheus` (scripts/apt-test-packages.txt)")
    done = subprocess.run(
        [promtool, "test", "rules", *paths],
        cwd=work,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=1800,
    )
    failed = _failed_dirs(done.stdout)
    if done.returncode != 0:
        assert failed, f"promtool failed without naming a test file:\n{done.stdout[-2000:]}"
    return {index for index in staged if f"m{index}" in failed}


@pytest.fixture(scope="module")
def groups() -> tuple[RuleGroup, ...]:
    return rule_groups(load_monitoring_config(STACK, ROOT))


def test_every_mutant_of_every_alert_fails_a_promtool_test(groups, tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    rule_files = render_rule_files(groups)
    work = tmp_path / "mutants"
    # Index 0 of each alert: the unmutated rules, which must pass every test (else a "kill"
    # would only show a broken test).
    controls: dict[int, Mutant] = {}
    mutants: dict[int, Mutant] = {}
    for group in groups:
        for alert in group.alerts:
            controls[len(controls) + len(mutants)] = Mutant(alert, group, "unchanged", alert.expr, alert.for_)
            for mutant in mutants_of(alert, group):
                mutants[len(controls) + len(mutants)] = mutant
    everything = {**controls, **mutants}
    texts = {
        index: _mutated_rule_file(rule_files[rule_file_name(mutant.group)], mutant)
        for index, mutant in everything.items()
    }
    killed_cheap = _run_pass(
        work, {index: _stage(work, index, m, texts[index], CHEAP) for index, m in everything.items()}
    )
    # The long tests run on the surviving mutants, and on the unmutated rules of their alerts.
    surviving_alerts = {(m.alert.name, m.alert.severity) for index, m in mutants.items() if index not in killed_cheap}
    survivors = {
        index: m
        for index, m in everything.items()
        if index not in killed_cheap and (index in mutants or (m.alert.name, m.alert.severity) in surviving_alerts)
    }
    shutil.rmtree(work)
    killed_long = _run_pass(
        work, {index: _stage(work, index, m, texts[index], EXPENSIVE) for index, m in survivors.items()}
    )
    killed = (killed_cheap | killed_long) & set(mutants)
    broken_controls = sorted(controls[index].label for index in (killed_cheap | killed_long) if index in controls)
    assert broken_controls == [], f"the unmutated rules fail their own tests: {broken_controls}"

    total = len(mutants)
    with capsys.disabled():
        print(
            f"\nalert mutation score: {len(killed)}/{total} ({len(killed) / total:.0%}); "
            f"{len(killed_cheap & set(mutants))} killed by the short tests, {len(killed_long)} by the long ones"
        )
    surviving = sorted(mutants[index].label for index in set(mutants) - killed)
    assert surviving == [], "mutants no test catches:\n" + "\n".join(surviving)
    assert total >= 150, "fewer mutants than the alerts' thresholds, pairs, guards and `for`s make"


def test_the_mutants_include_the_issues_examples(groups):
    """The edits the issue found uncaught are among the mutants."""
    labels = {mutant.label for group in groups for alert in group.alerts for mutant in mutants_of(alert, group)}
    for expected in (
        "CloudSqlDiskNearlyFull (warning): threshold > 0.85 -> > 0.68 (more sensitive)",
        "CeleryQueueBacklog (warning): threshold > 100 -> > 99 (more sensitive)",
        "ApiHighErrorRate (critical): threshold > 0.05 -> > 0.04 (more sensitive)",
        "ApiHighErrorRate (critical): traffic guard dropped",
        "ApiAvailabilityErrorBudgetBurn (critical): window pair 6h/30m removed",
        "ApiAvailabilityErrorBudgetBurn (critical): threshold > 0.0144 -> > 0.01152 (more sensitive)",
        "CeleryNoLiveWorkers (critical): pipeline guard dropped",
    ):
        assert expected in labels, expected
