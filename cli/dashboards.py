"""`omni dashboards`: render, list and lint the Grafana dashboards."""

from __future__ import annotations

import typer

app = typer.Typer(help="Grafana dashboards as code: render, list, lint.", no_args_is_help=True)
