"""The tree passes ruff, the linter and formatter configured in pyproject.toml ([tool.ruff])."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def ruff(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ruff", *args], cwd=ROOT, capture_output=True, text=True, check=False, timeout=120
    )


def test_ruff_finds_nothing_to_fix() -> None:
    result = ruff("check", "--no-cache", "--output-format", "concise", ".")
    assert result.returncode == 0, (
        f"`ruff check .` found problems (`ruff check --fix .` fixes some):\n{result.stdout}{result.stderr}"
    )


def test_the_tree_is_formatted_as_ruff_formats_it() -> None:
    result = ruff("format", "--no-cache", "--check", ".")
    assert result.returncode == 0, f"run `ruff format .`:\n{result.stdout}{result.stderr}"


def test_ruff_would_catch_an_unused_import_and_a_long_line(tmp_path: Path) -> None:
    """The configuration is read (line length 120) and the rules run: the check itself can fail."""
    (tmp_path / "pyproject.toml").write_text((ROOT / "pyproject.toml").read_text(encoding="utf-8"), encoding="utf-8")
    module = tmp_path / "bad.py"
    module.write_text("import os\n\nVALUE = '" + "x" * 120 + "'\n", encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--no-cache", "--output-format", "concise", str(module)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
        timeout=60,
    )
    assert result.returncode == 1
    assert "F401" in result.stdout
    assert "E501" in result.stdout
