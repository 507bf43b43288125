"""Reference documents generated from the code are committed up to date."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from cli.main import app
from stackconfig.reference import BEGIN, END, config_table, generated_table

ROOT = Path(__file__).resolve().parent.parent
CONFIGURATION = ROOT / "docs" / "configuration.md"


def test_the_committed_configuration_table_is_the_one_the_model_generates() -> None:
    assert generated_table(CONFIGURATION.read_text(encoding="utf-8")) == config_table(), (
        "docs/configuration.md is stale: run `omni docs config --write`"
    )


def test_every_row_of_the_table_has_a_meaning() -> None:
    rows = config_table().splitlines()[2:]
    assert len(rows) > 50
    for row in rows:
        key, default, meaning = (cell.strip() for cell in row.strip("|").split(" | "))
        assert key.startswith("`"), row
        assert default, row
        assert len(meaning) > 10, row


def test_omni_docs_config_check_fails_on_a_stale_table_and_write_fixes_it(tmp_path: Path) -> None:
    document = tmp_path / "configuration.md"
    shutil.copy(CONFIGURATION, document)
    text = document.read_text(encoding="utf-8")
    stale = text.replace("| `omni-infra:protect` | `true` |", "| `omni-infra:protect` | `false` |")
    assert stale != text
    document.write_text(stale, encoding="utf-8")
    runner = CliRunner()

    check = runner.invoke(app, ["docs", "config", "--check", "--doc", str(document)])
    assert check.exit_code == 1
    assert "omni docs config --write" in check.output

    write = runner.invoke(app, ["docs", "config", "--write", "--doc", str(document)])
    assert write.exit_code == 0, write.output
    assert document.read_text(encoding="utf-8") == text
    assert runner.invoke(app, ["docs", "config", "--check", "--doc", str(document)]).exit_code == 0


def test_omni_docs_config_refuses_a_document_without_the_markers(tmp_path: Path) -> None:
    document = tmp_path / "notes.md"
    document.write_text("# Notes\n", encoding="utf-8")
    result = CliRunner().invoke(app, ["docs", "config", "--write", "--doc", str(document)])
    assert result.exit_code == 2
    assert document.read_text(encoding="utf-8") == "# Notes\n"
    assert BEGIN.split(":")[0] in CONFIGURATION.read_text(encoding="utf-8")
    assert END in CONFIGURATION.read_text(encoding="utf-8")
