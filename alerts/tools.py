"""promtool and amtool run on rendered artifacts; each run returns its command, exit code and output.

The tools come from Debian (`prometheus`, `prometheus-alertmanager`: promtool 2.42, amtool
0.25), installed by scripts/apt-test-packages.txt.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from alerts.alertmanager import RouteCase, route_cases
from alerts.model import RuleGroup
from alerts.render import ALERTMANAGER_FILE, RULES_DIR, TESTS_DIR
from alerts.rules import all_alerts


class ToolMissing(RuntimeError):
    """promtool or amtool is not installed; the message says which package brings it."""


_PACKAGES = {"promtool": "prometheus", "amtool": "prometheus-alertmanager"}


@dataclass(frozen=True)
class ToolResult:
    check: str  # what was checked, in words
    command: tuple[str, ...]
    returncode: int
    output: str  # stdout and stderr together

    @property
    def ok(self) -> bool:
        return self.returncode == 0


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise ToolMissing(
            f"{name} is not installed: `apt-get install {_PACKAGES[name]}` (scripts/apt-test-packages.txt)"
        )
    return path


def _run(check: str, command: list[str], cwd: Path) -> ToolResult:
    done = subprocess.run(command, cwd=cwd, capture_output=True, text=True, timeout=300)
    return ToolResult(check, tuple(command), done.returncode, (done.stdout + done.stderr).strip())


def _yaml_files(directory: Path) -> list[str]:
    return sorted(str(path.relative_to(directory.parent)) for path in directory.glob("*.yml"))


def promtool_check_rules(out_dir: Path) -> ToolResult:
    return _run(
        "promtool check rules", [_tool("promtool"), "check", "rules", *_yaml_files(out_dir / RULES_DIR)], out_dir
    )


def promtool_test_rules(out_dir: Path) -> ToolResult:
    return _run("promtool test rules", [_tool("promtool"), "test", "rules", *_yaml_files(out_dir / TESTS_DIR)], out_dir)


def amtool_check_config(out_dir: Path) -> ToolResult:
    return _run("amtool check-config", [_tool("amtool"), "check-config", ALERTMANAGER_FILE], out_dir)


def amtool_route(out_dir: Path, case: RouteCase) -> ToolResult:
    """`amtool config routes test`: exit 0 only when the alert reaches exactly the expected receivers."""
    labels = [f"{name}={value}" for name, value in sorted(case.labels.items())]
    command = [
        _tool("amtool"),
        "config",
        "routes",
        "test",
        f"--config.file={ALERTMANAGER_FILE}",
        f"--verify.receivers={','.join(case.receivers)}",
        *labels,
    ]
    name = case.labels.get("alertname", "?")
    severity = case.labels.get("severity", "no severity")
    return _run(f"route {name} ({severity}) -> {','.join(case.receivers)}", command, out_dir)


def run_checks(out_dir: Path, groups: tuple[RuleGroup, ...] | None = None, *, paging: bool = True) -> list[ToolResult]:
    """Every tool check of a rendered output directory, in order: rules, unit tests, config, routes.
    `paging` off (a stack where nothing pages): critical alerts must reach the ticket receiver."""
    results = [promtool_check_rules(out_dir), promtool_test_rules(out_dir), amtool_check_config(out_dir)]
    results += [amtool_route(out_dir, case) for case in route_cases(all_alerts(groups), paging=paging)]
    return results
