"""`omni lab`: local labs on 127.0.0.1 with real servers (alerts MTTD)."""

from __future__ import annotations

import typer

app = typer.Typer(help="Local labs with real Prometheus and Alertmanager on 127.0.0.1.", no_args_is_help=True)
