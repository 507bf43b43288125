"""`omni statuspage`: render the public status page, or look at it locally.

Exit codes: 0 success, 2 bad input (an unknown source, a malformed notice file, an unreachable
Prometheus).
"""

from __future__ import annotations

import functools
import gc
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from cli.console import fail

app = typer.Typer(
    help="The public status page: render it (demo, Prometheus or Cloud Monitoring data) or serve it locally.",
    no_args_is_help=True,
)

SourceOption = Annotated[
    str,
    typer.Option(
        "--source",
        help="demo (bundled data, no credentials), gcp (Cloud Monitoring), or a Prometheus URL (http://127.0.0.1:9090).",
    ),
]
ProjectOption = Annotated[
    str | None, typer.Option("--project", envvar="GOOGLE_CLOUD_PROJECT", help="Google Cloud project, for --source gcp.")
]
TitleOption = Annotated[str, typer.Option("--title", help="The page's title.")]


def _render(out: Path, source: str, title: str, project: str | None) -> list[Path]:
    from google.auth.exceptions import GoogleAuthError

    from statuspage.build import SourceSpecError, render_status_page
    from statuspage.notices import NoticeError
    from statuspage.sources.prometheus import PrometheusError

    try:
        return render_status_page(out, source, title, project)
    except (SourceSpecError, NoticeError, PrometheusError) as error:
        fail(str(error))
    except GoogleAuthError as error:
        fail(f"--source gcp needs Google credentials (`gcloud auth application-default login`): {error}")


@app.command()
def render(
    out: Annotated[
        Path,
        typer.Option("--out", "-o", help="Directory to write index.html, status.json, feed.atom and badges/ into."),
    ],
    source: SourceOption = "demo",
    title: TitleOption = "Omni API status",
    project: ProjectOption = None,
) -> None:
    """Write the static site: the page, status.json, the Atom feed and the uptime badges."""
    paths = _render(out, source, title, project)
    typer.echo(f"wrote {len(paths)} files to {out} (open {out / 'index.html'})")


@app.command()
def serve(
    port: Annotated[int, typer.Option("--port", "-p", help="Port on 127.0.0.1.")] = 8000,
    source: SourceOption = "demo",
    title: TitleOption = "Omni API status",
    project: ProjectOption = None,
) -> None:
    """Render into a temporary directory and serve it on 127.0.0.1 until Ctrl-C."""
    gc.enable()  # a long-running server: the collector `omni` turns off for short commands is wanted
    from localrun.ports import PortInUseError, ensure_port_free

    with tempfile.TemporaryDirectory(prefix="omni-statuspage-") as directory:
        _render(Path(directory), source, title, project)
        try:
            ensure_port_free(port, "the status page")
        except PortInUseError as error:
            fail(str(error))
        import http.server  # only `serve` needs it: kept off every other command's start-up

        handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=directory)
        with http.server.ThreadingHTTPServer(("127.0.0.1", port), handler) as server:
            typer.echo(f"serving the status page on http://127.0.0.1:{port}/ (Ctrl-C stops)")
            try:
                server.serve_forever()
            except KeyboardInterrupt:
                typer.echo("stopped")
