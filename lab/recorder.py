"""What the lab's receivers share: a thread-safe record of what arrived, and a wait for the
first arrival that matches."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Generic, TypeVar

Item = TypeVar("Item")


class Recorder(Generic[Item]):
    def __init__(self) -> None:
        self._items: list[Item] = []
        self._changed = threading.Condition()

    def add(self, item: Item) -> None:
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    @property
    def items(self) -> tuple[Item, ...]:
        with self._changed:
            return tuple(self._items)

    def wait_for(self, matches: Callable[[Item], bool], timeout: float) -> Item | None:
        """The first recorded item that `matches`, waiting up to `timeout` seconds for it."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                found = next((item for item in self._items if matches(item)), None)
                remaining = deadline - time.monotonic()
                if found is not None or remaining <= 0:
                    return found
                self._changed.wait(remaining)
