"""`omni alerts`: render the Prometheus rules and Alertmanager configuration, and test them."""

from __future__ import annotations

import typer

app = typer.Typer(help="Alert rules as code: render and test with promtool and amtool.", no_args_is_help=True)
