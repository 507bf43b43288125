"""A local PagerDuty: `POST /v2/enqueue` of the Events API v2, recording every event it accepts.

It validates events as PagerDuty documents them (developer.pagerduty.com, "Send an Alert Event"):
`routing_key` (one this receiver was given), `event_action` (trigger, acknowledge or resolve),
`dedup_key` (required to acknowledge or resolve, at most 255 characters) and, for a trigger,
`payload.summary` (at most 1024 characters), `payload.source` and `payload.severity` (critical,
error, warning or info). A valid event gets 202 with status, message and dedup_key, as PagerDuty
answers; an invalid one gets 400 with the list of errors, and is not recorded.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from lab.recorder import Recorder
from localrun.http_server import BackgroundHTTPServer

ENQUEUE_PATH = "/v2/enqueue"
EVENT_ACTIONS = ("trigger", "acknowledge", "resolve")
SEVERITIES = ("critical", "error", "warning", "info")
MAX_SUMMARY = 1024
MAX_DEDUP_KEY = 255


@dataclass(frozen=True)
class PagerDutyEvent:
    """One accepted event and when it arrived (`time.monotonic()` and wall-clock seconds)."""

    routing_key: str
    event_action: str
    dedup_key: str
    summary: str | None
    severity: str | None
    source: str | None
    custom_details: dict[str, Any]
    received_monotonic: float
    received_at: float
    body: dict[str, Any] = field(repr=False)


def event_errors(event: Any, routing_keys: frozenset[str]) -> list[str]:
    """What is wrong with an Events API v2 event, in PagerDuty's words; empty when it is valid."""
    if not isinstance(event, dict):
        return ["Event object must be a JSON object"]
    errors = []
    routing_key = event.get("routing_key")
    if not isinstance(routing_key, str) or not routing_key:
        errors.append("'routing_key' is missing or blank")
    elif routing_key not in routing_keys:
        errors.append("'routing_key' is not a known integration key")
    action = event.get("event_action")
    if action not in EVENT_ACTIONS:
        errors.append(f"'event_action' must be one of {', '.join(EVENT_ACTIONS)}")
    dedup_key = event.get("dedup_key")
    if dedup_key is not None and (not isinstance(dedup_key, str) or len(dedup_key) > MAX_DEDUP_KEY):
        errors.append(f"'dedup_key' must be a string of at most {MAX_DEDUP_KEY} characters")
    if action in ("acknowledge", "resolve") and not dedup_key:
        errors.append(f"'dedup_key' is required to {action}")
    if action == "trigger":
        errors.extend(_payload_errors(event.get("payload")))
    return errors


def _payload_errors(payload: Any) -> list[str]:
    if not isinstance(payload, dict):
        return ["'payload' is missing or not an object"]
    errors = []
    summary = payload.get("summary")
    if not isinstance(summary, str) or not summary:
        errors.append("'payload.summary' is missing or blank")
    elif len(summary) > MAX_SUMMARY:
        errors.append(f"'payload.summary' is longer than {MAX_SUMMARY} characters")
    source = payload.get("source")
    if not isinstance(source, str) or not source:
        errors.append("'payload.source' is missing or blank")
    if payload.get("severity") not in SEVERITIES:
        errors.append(f"'payload.severity' must be one of {', '.join(SEVERITIES)}")
    return errors


class PagerDutyReceiver:
    """The receiver on 127.0.0.1:`port` (0: a free port), accepting events for `routing_keys`."""

    def __init__(self, routing_keys: set[str] | frozenset[str], *, port: int = 0):
        self.routing_keys = frozenset(routing_keys)
        self._events: Recorder[PagerDutyEvent] = Recorder()
        self._server = BackgroundHTTPServer(self._handle, port=port, what="the PagerDuty receiver")

    @property
    def enqueue_url(self) -> str:
        return self._server.url + ENQUEUE_PATH

    @property
    def events(self) -> tuple[PagerDutyEvent, ...]:
        return self._events.items

    def wait_for(self, matches: Callable[[PagerDutyEvent], bool], timeout: float) -> PagerDutyEvent | None:
        """The first recorded event that `matches`, waiting up to `timeout` seconds for it."""
        return self._events.wait_for(matches, timeout)

    def _handle(self, method: str, path: str, body: bytes) -> tuple[int, Any]:
        if path != ENQUEUE_PATH:
            return 404, {"status": "not found", "message": f"no endpoint {path}; events go to {ENQUEUE_PATH}"}
        if method != "POST":
            return 405, {"status": "method not allowed", "message": f"{ENQUEUE_PATH} takes POST"}
        received_monotonic, received_at = time.monotonic(), time.time()
        try:
            event = json.loads(body)
        except (json.JSONDecodeError, UnicodeDecodeError):
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": ["Malformed JSON"]}
        errors = event_errors(event, self.routing_keys)
        if errors:
            return 400, {"status": "invalid event", "message": "Event object is invalid", "errors": errors}
        # PagerDuty makes up a key for a trigger without one, and returns it.
        dedup_key = event.get("dedup_key") or uuid.uuid4().hex
        payload = event.get("payload") or {}
        details = payload.get("custom_details")
        recorded = PagerDutyEvent(
            routing_key=event["routing_key"],
            event_action=event["event_action"],
            dedup_key=dedup_key,
            summary=payload.get("summary"),
            severity=payload.get("severity"),
            source=payload.get("source"),
            custom_details=details if isinstance(details, dict) else {},
            received_monotonic=received_monotonic,
            received_at=received_at,
            body=event,
        )
        self._events.add(recorded)
        return 202, {"status": "success", "message": "Event processed", "dedup_key": dedup_key}

    def __enter__(self) -> PagerDutyReceiver:
        self._server.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._server.close()
