"""Cloud Scheduler's unix-cron: five fields, each a list of values, ranges and steps in range.

Checked field by field, so a typo (`0 25 * * *`, `*/0 * * * *`, `0 6 2 13 *`) stops the run
before anything is declared instead of failing `pulumi up` halfway.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTH_NAMES = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")
DAY_NAMES = ("SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT")


@dataclass(frozen=True)
class CronField:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()  # accepted names, in order from `low`

    def value(self, text: str) -> int:
        if text.upper() in self.names:
            return self.low + self.names.index(text.upper())
        if not text.isdigit():
            raise ValueError(f"{self.name}: {text!r} is not a number{' or a name' if self.names else ''}")
        number = int(text)
        if not self.low <= number <= self.high:
            raise ValueError(f"{self.name}: {number} is outside {self.low}-{self.high}")
        return number


FIELDS = (
    CronField("minute", 0, 59),
    CronField("hour", 0, 23),
    CronField("day of month", 1, 31),
    CronField("month", 1, 12, MONTH_NAMES),
    # 7 is Sunday too, as in Vixie cron.
    CronField("day of week", 0, 7, DAY_NAMES),
)
ITEM = re.compile(r"^(?P<range>\*|[A-Za-z0-9]+(-[A-Za-z0-9]+)?)(/(?P<step>\d+))?$")


def _check_item(field: CronField, item: str) -> None:
    match = ITEM.fullmatch(item)
    if match is None:
        raise ValueError(f"{field.name}: {item!r} is not a value, a range (a-b), `*` or one of them with /step")
    step = match.group("step")
    if step is not None and int(step) == 0:
        raise ValueError(f"{field.name}: a step of 0 never advances")
    span = match.group("range")
    if span == "*":
        return
    low, _, high = span.partition("-")
    first = field.value(low)
    if high and field.value(high) < first:
        raise ValueError(f"{field.name}: the range {span!r} runs backwards")


def check_cron(schedule: str) -> list[str]:
    """The five fields of a valid unix-cron expression; ValueError saying which field is wrong."""
    fields = schedule.split()
    if len(fields) != len(FIELDS):
        raise ValueError(
            f"{schedule!r} has {len(fields)} fields; unix-cron takes 5: minute hour day-of-month month day-of-week"
        )
    for field, text in zip(FIELDS, fields, strict=True):
        for item in text.split(","):
            _check_item(field, item)
    return fields


def check_monthly(schedule: str) -> str:
    """A schedule that fires exactly once a month: a fixed minute, hour and day every month has
    (1-28), any month, any weekday."""
    minute, hour, day, month, weekday = check_cron(schedule)
    if not (minute.isdigit() and hour.isdigit() and day.isdigit()) or month != "*" or weekday != "*":
        raise ValueError(
            f"{schedule!r} does not fire exactly once a month: give a fixed minute, hour and day of month "
            "with `*` for month and weekday, like '0 6 2 * *' (06:00 UTC on the 2nd)"
        )
    if int(day) > 28:
        raise ValueError(f"{schedule!r}: day {day} does not exist in every month; use 1-28")
    return schedule
