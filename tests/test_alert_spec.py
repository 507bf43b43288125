"""The rendered rules of every stack hold to the reviewed spec (tests/alert_spec.py): the alerts
each stack has, their `for`, thresholds, traffic guards and window pairs read from the rendered
files, and promtool proving each alert silent just short of the specified threshold and firing
just past it, and the pages that must survive a stale series."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from alerts.render import write_all
from alerts.rules import rule_groups
from alerts.tools import promtool_test_rules
from observability.promql import thresholds
from offline.monitoring import load_monitoring_config

from .alert_spec import SPEC, STACKS, spec_in
from .conftest import ROOT
from .spec_promtool import STALE_SERIES_TESTS, spec_test_files


@pytest.fixture(scope="module")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Each stack's rules and generated tests, rendered as `omni alerts render --stack` does."""
    found = {}
    for stack in STACKS:
        out = tmp_path_factory.mktemp(f"alerts-{stack}")
        write_all(out, rule_groups(load_monitoring_config(stack, ROOT)))
        found[stack] = out
    return found


def _rendered_alerts(out: Path) -> dict[tuple[str, str], dict]:
    alerts = {}
    for path in sorted((out / "rules").glob("*.yml")):
        for group in yaml.safe_load(path.read_text())["groups"]:
            for rule in group["rules"]:
                if "alert" in rule:
                    alerts[(rule["alert"], rule["labels"]["severity"])] = rule
    return alerts


def test_the_spec_covers_every_alert_once():
    assert len(SPEC) == 46
    assert all(spec.for_ for spec in SPEC.values())


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_renders_exactly_the_specified_alerts(stack: str, rendered: dict[str, Path]):
    assert sorted(_rendered_alerts(rendered[stack])) == sorted(spec_in(stack))


@pytest.mark.parametrize("stack", STACKS)
def test_rendered_for_thresholds_guards_and_window_pairs_are_the_specified_ones(stack: str, rendered: dict[str, Path]):
    for key, rule in _rendered_alerts(rendered[stack]).items():
        spec = SPEC[key]
        assert rule["for"] == spec.for_, key
        found = thresholds(rule["expr"])
        if spec.windows:
            # Each pair: both of its windows compared against the pair's ratio, nothing else.
            by_value: dict[float, set[str]] = {}
            for threshold in found:
                assert threshold.op == ">", key
                by_value.setdefault(threshold.value, set()).update(threshold.series)
            assert by_value == {
                ratio: {f"slo:sli_error:ratio_rate{long}", f"slo:sli_error:ratio_rate{short}"}
                for (long, short), ratio in spec.windows.items()
            }, key
            continue
        expected = [spec.threshold_in(stack)] if spec.threshold else []
        if spec.guard is not None:
            expected.append((">", spec.guard))
        assert [(threshold.op, threshold.value) for threshold in found] == expected, key


def test_the_burn_rate_pages_are_the_workbook_factors_times_each_budget():
    """The table's ratios, spelt out: 14.4 and 6 times 0.1%, 5% and 1%; tickets 3 and 1 times."""
    budgets = {"ApiAvailability": 0.001, "ApiLatency": 0.05, "CeleryTaskSuccess": 0.01}
    for prefix, budget in budgets.items():
        page = SPEC[(f"{prefix}ErrorBudgetBurn", "critical")].windows
        ticket = SPEC[(f"{prefix}ErrorBudgetBurn", "warning")].windows
        assert page == pytest.approx({("1h", "5m"): 14.4 * budget, ("6h", "30m"): 6 * budget})
        assert ticket == pytest.approx({("1d", "2h"): 3 * budget, ("3d", "6h"): 1 * budget})


def _write_spec_tests(stack: str, out: Path, only: set[str] | None = None) -> list[str]:
    groups = rule_groups(load_monitoring_config(stack, ROOT))
    spec_dir = out / "spec"
    spec_dir.mkdir(exist_ok=True)
    written = []
    for group in groups:
        for alert in group.alerts:
            if only is not None and alert.name not in only:
                continue
            for name, (_, data) in spec_test_files(stack, alert, group).items():
                (spec_dir / name).write_text(yaml.safe_dump(data, sort_keys=False))
                written.append(name)
    return written


def test_prod_alerts_are_silent_short_of_and_fire_past_the_specified_thresholds(rendered: dict[str, Path]):
    """Every alert with a threshold, at the spec's numbers (not the rule objects'), through promtool."""
    out = rendered["prod"]
    written = _write_spec_tests("prod", out)
    assert len([name for name in written if name.endswith(".windows.test.yml")]) == 6
    assert set(STALE_SERIES_TESTS) <= set(written)
    result = promtool_test_rules_in(out, "spec")
    assert result.ok, result.output


@pytest.mark.parametrize("stack", ["dev", "staging"])
def test_the_stack_specific_thresholds_hold_in_each_stack(stack: str, rendered: dict[str, Path]):
    """What differs per stack (connection limits, the instance ceiling) through promtool there too."""
    out = rendered[stack]
    written = _write_spec_tests(stack, out, only={"CloudSqlConnectionsNearLimit", "CloudRunInstancesAtCeiling"})
    assert len(written) == 3
    result = promtool_test_rules_in(out, "spec")
    assert result.ok, result.output


def promtool_test_rules_in(out: Path, directory: str):
    """promtool test rules over `out/<directory>/*.yml` (the tests read ../rules/)."""
    import shutil

    staged = out / "staged"
    if staged.exists():
        shutil.rmtree(staged)
    shutil.copytree(out / "rules", staged / "rules")
    shutil.copytree(out / directory, staged / "tests")
    return promtool_test_rules(staged)
