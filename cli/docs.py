"""`omni docs`: reference documents generated from the code.

Exit codes: 0 success, 1 the committed document is stale (`--check`), 2 bad input.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cli.console import fail

app = typer.Typer(help="Reference documents generated from the code.", no_args_is_help=True)

CONFIGURATION_DOC = Path("docs/configuration.md")


@app.command()
def config(
    write: Annotated[bool, typer.Option("--write", help="Update the generated table in the document.")] = False,
    check: Annotated[bool, typer.Option("--check", help="Exit 1 when the document's table is stale.")] = False,
    document: Annotated[Path, typer.Option("--doc", help="The document holding the table.")] = CONFIGURATION_DOC,
) -> None:
    """Print the configuration table generated from stackconfig/model.py (every key, default, meaning)."""
    from stackconfig.reference import config_table, generated_table, with_table

    table = config_table()
    if not write and not check:
        typer.echo(table, nl=False)
        return
    try:
        text = document.read_text(encoding="utf-8")
        current = generated_table(text)
    except (OSError, ValueError) as error:
        fail(f"{document}: {error}")
    if check:
        if current != table:
            typer.echo(f"{document} is stale: run `omni docs config --write`", err=True)
            raise typer.Exit(code=1)
        return
    document.write_text(with_table(text, table), encoding="utf-8")
    typer.echo(f"wrote {document}")
