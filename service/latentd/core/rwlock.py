"""A reader-writer lock: many readers or one writer. Writers are preferred, so that a
write is not starved by a steady stream of queries; and the readers waiting when a
writer leaves go in before the next writer, so that a writer that comes straight back
(the indexer, chunk after chunk) does not starve the queries either."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class ReadWriteLock:
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._readers = 0
        self._writer = False
        self._writers_waiting = 0
        self._readers_waiting = 0
        self._admitted = 0  # readers let in ahead of waiting writers

    @contextmanager
    def read(self) -> Iterator[None]:
        with self._cond:
            self._readers_waiting += 1
            while self._writer or (self._writers_waiting and not self._admitted):
                self._cond.wait()
            self._readers_waiting -= 1
            if self._admitted:
                self._admitted -= 1
            self._readers += 1
        try:
            yield
        finally:
            with self._cond:
                self._readers -= 1
                if self._readers == 0:
                    self._cond.notify_all()

    @contextmanager
    def write(self) -> Iterator[None]:
        with self._cond:
            self._writers_waiting += 1
            while self._writer or self._readers or self._admitted:
                self._cond.wait()
            self._writers_waiting -= 1
            self._writer = True
        try:
            yield
        finally:
            with self._cond:
                self._writer = False
                self._admitted = self._readers_waiting
                self._cond.notify_all()
