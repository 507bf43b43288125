"""A local endpoint for Alertmanager's webhook notifications (tickets, the watchdog), recording each.

Alertmanager posts a JSON message per notification (version "4": `status`, `receiver`,
`groupLabels`, `alerts[]` with `status`, `labels`, `annotations`, `startsAt`). Every POST to any
path is recorded with its path and arrival time, so one receiver can stand in for several
endpoints (`/tickets/<scenario>`, `/watchdog/<scenario>`).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from lab.recorder import Recorder
from localrun.http_server import BackgroundHTTPServer


@dataclass(frozen=True)
class WebhookNotification:
    path: str
    status: str  # "firing" or "resolved"
    alert_names: tuple[str, ...]  # the `alertname` of each alert in the notification, in order
    received_monotonic: float
    body: dict[str, Any] = field(repr=False)


class WebhookReceiver:
    """Records Alertmanager webhook notifications on 127.0.0.1:`port` (0: a free port)."""

    def __init__(self, *, port: int = 0):
        self._notifications: Recorder[WebhookNotification] = Recorder()
        self._server = BackgroundHTTPServer(self._handle, port=port, what="the webhook receiver")

    def url(self, path: str) -> str:
        return self._server.url + path

    @property
    def notifications(self) -> tuple[WebhookNotification, ...]:
        return self._notifications.items

    def wait_for(self, matches: Callable[[WebhookNotification], bool], timeout: float) -> WebhookNotification | None:
        """The first recorded notification that `matches`, waiting up to `timeout` seconds for it."""
        return self._notifications.wait_for(matches, timeout)

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if method != "POST":
            return 405, {"error": "webhooks are POSTed"}
        received = time.monotonic()
        try:
            message = json.loads(body)
            alerts = message["alerts"]
            names = tuple(str(alert.get("labels", {}).get("alertname", "")) for alert in alerts)
            status = str(message["status"])
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError, AttributeError):
            return 400, {"error": "not an Alertmanager webhook message (needs status and alerts)"}
        self._notifications.add(WebhookNotification(path, status, names, received, message))
        return 200, {"status": "recorded"}

    def __enter__(self) -> WebhookReceiver:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
