"""Incidents and planned maintenance, written by people as small YAML files reviewed in pull requests.

One file per notice, in `statuspage/incidents/` (the file's name, without `.yaml`, is its id and
its permanent link). An incident gains updates as it is investigated and resolved; a maintenance
announces a window, then says when it started and ended:

    title: Task submission delayed
    kind: incident            # or maintenance
    impact: degraded          # incidents only: degraded or outage
    components: [tasks]
    window:                   # maintenance only: the planned start and end (UTC)
      start: 2026-11-29T03:00:00Z
      end: 2026-11-29T04:00:00Z
    updates:                  # oldest first
      - at: 2026-11-24T09:12:00Z
        status: investigating # incidents: investigating, identified, monitoring, resolved
        message: Some task submissions time out; we are looking into it.

A file that does not fit stops the render, naming the file and the key, so that a typo never
publishes a half-read incident.
"""

from __future__ import annotations

import datetime
from enum import StrEnum
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from statuspage.model import COMPONENT_IDS, State

NOTICES_DIR = Path(__file__).resolve().parent / "incidents"
"""The production page's notices, committed in this repository."""
NOTICE_ID = r"^[a-z0-9][a-z0-9-]{0,79}$"


class NoticeError(ValueError):
    """A notice file that cannot be published: the message names the file and the key."""


class IncidentStatus(StrEnum):
    INVESTIGATING = "investigating"
    IDENTIFIED = "identified"
    MONITORING = "monitoring"
    RESOLVED = "resolved"


class MaintenanceStatus(StrEnum):
    SCHEDULED = "scheduled"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"


STATUS_LABELS = {
    "investigating": "Investigating",
    "identified": "Identified",
    "monitoring": "Monitoring",
    "resolved": "Resolved",
    "scheduled": "Scheduled",
    "in_progress": "In progress",
    "completed": "Completed",
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Update(_Strict):
    at: datetime.datetime = Field(description="When it was posted, with a time zone (UTC: `Z`).")
    status: str
    message: str = Field(min_length=1)

    @field_validator("at")
    @classmethod
    def _aware(cls, at: datetime.datetime) -> datetime.datetime:
        if at.tzinfo is None:
            raise ValueError("give a time zone, like 2026-11-24T09:12:00Z")
        return at.astimezone(datetime.UTC)

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]


class Window(_Strict):
    start: datetime.datetime
    end: datetime.datetime

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, at: datetime.datetime) -> datetime.datetime:
        if at.tzinfo is None:
            raise ValueError("give a time zone, like 2026-11-29T03:00:00Z")
        return at.astimezone(datetime.UTC)

    @model_validator(mode="after")
    def _ordered(self) -> Window:
        if self.end <= self.start:
            raise ValueError("end must come after start")
        return self


class Notice(_Strict):
    """One incident or planned maintenance, as its file says."""

    id: str = Field(pattern=NOTICE_ID)
    title: str = Field(min_length=1, max_length=120)
    kind: Literal["incident", "maintenance"]
    impact: Literal["degraded", "outage"] | None = None
    components: tuple[str, ...] = Field(min_length=1)
    window: Window | None = None
    updates: tuple[Update, ...] = Field(min_length=1)

    @field_validator("components")
    @classmethod
    def _known_components(cls, components: tuple[str, ...]) -> tuple[str, ...]:
        unknown = [c for c in components if c not in COMPONENT_IDS]
        if unknown:
            raise ValueError(f"unknown component {', '.join(unknown)}; the components are {', '.join(COMPONENT_IDS)}")
        return components

    @model_validator(mode="after")
    def _consistent(self) -> Notice:
        allowed = {s.value for s in (IncidentStatus if self.kind == "incident" else MaintenanceStatus)}
        for index, update in enumerate(self.updates):
            if update.status not in allowed:
                raise ValueError(
                    f"updates.{index}.status: {update.status!r} is not a {self.kind} status; use one "
                    f"of {', '.join(sorted(allowed))}"
                )
        times = [update.at for update in self.updates]
        if times != sorted(times):
            raise ValueError("updates: list them oldest first")
        if self.kind == "incident":
            if self.impact is None:
                raise ValueError("impact: an incident says how bad it is: degraded or outage")
            if self.window is not None:
                raise ValueError("window: only a planned maintenance has a window")
        else:
            if self.window is None:
                raise ValueError("window: a maintenance needs its planned start and end")
            if self.impact is not None:
                raise ValueError("impact: a maintenance has a window, not an impact")
        return self

    @property
    def status(self) -> str:
        return self.updates[-1].status

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def started(self) -> datetime.datetime:
        return self.window.start if self.window else self.updates[0].at

    @property
    def last_updated(self) -> datetime.datetime:
        return self.updates[-1].at

    @property
    def resolved_at(self) -> datetime.datetime | None:
        """When an incident was resolved (its last update), or None while it is open."""
        if self.kind == "incident":
            return self.updates[-1].at if self.status == IncidentStatus.RESOLVED.value else None
        return None

    def is_open_incident(self) -> bool:
        return self.kind == "incident" and self.status != IncidentStatus.RESOLVED.value

    def is_maintenance_in_progress(self, now: datetime.datetime) -> bool:
        """In its window and not said to be completed, or said to be in progress."""
        if self.kind != "maintenance" or self.window is None or self.status == MaintenanceStatus.COMPLETED.value:
            return False
        return self.status == MaintenanceStatus.IN_PROGRESS.value or self.window.start <= now < self.window.end

    def is_upcoming_maintenance(self, now: datetime.datetime) -> bool:
        return (
            self.kind == "maintenance"
            and self.window is not None
            and self.window.start > now
            and self.status == MaintenanceStatus.SCHEDULED.value
        )

    def state_for(self, now: datetime.datetime) -> State | None:
        """What this notice makes its components show now, or None when it no longer applies."""
        if self.is_open_incident():
            return State(self.impact)
        if self.is_maintenance_in_progress(now):
            return State.MAINTENANCE
        return None


def _location(error: dict[str, object]) -> str:
    parts = [str(part) for part in error.get("loc", ()) if part != ""]  # type: ignore[union-attr]
    return ".".join(parts) or "(the file)"


def parse_notice(path: Path) -> Notice:
    """One notice file, or a `NoticeError` naming the file and every bad key."""
    return parse_notice_text(path.read_text(encoding="utf-8"), path.stem, str(path))


def parse_notice_text(text: str, notice_id: str, origin: str) -> Notice:
    """A notice's YAML, its id, and where it came from (named in every error)."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise NoticeError(f"{origin}: not valid YAML: {error}") from None
    if not isinstance(document, dict):
        raise NoticeError(f"{origin}: expected a mapping with title, kind, components and updates")
    if "id" in document:
        raise NoticeError(f"{origin}: id: the file name is the id; remove the key")
    try:
        return Notice.model_validate({**document, "id": notice_id})
    except ValidationError as error:
        problems = []
        errors = error.errors()
        for problem in errors:
            # An item that failed also leaves its list "too short": say only why the item failed.
            if problem["type"] == "too_short" and any(len(other["loc"]) > len(problem["loc"]) for other in errors):
                continue
            where = _location(dict(problem))
            message = str(problem["msg"]).removeprefix("Value error, ")
            # A model-level check names its key in its message already.
            problems.append(
                message if where == "(the file)" and ":" in message.split(" ")[0] else f"{where}: {message}"
            )
        raise NoticeError(f"{origin}: " + "; ".join(problems)) from None


def newest_first(notices: list[Notice]) -> list[Notice]:
    return sorted(notices, key=lambda notice: (notice.started, notice.id), reverse=True)


def load_notices(directory: Path = NOTICES_DIR) -> list[Notice]:
    """Every `*.yaml` notice in `directory`, newest first; a missing directory has none."""
    if not directory.is_dir():
        return []
    return newest_first([parse_notice(path) for path in sorted(directory.glob("*.yaml"))])
