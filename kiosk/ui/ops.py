"""Background operations: run slow work (card, network, printer, package opening) off the UI thread.

The worker functions never touch widgets; their result or exception comes back to the UI thread through a queued
signal, where the ``on_done`` / ``on_error`` callbacks run. This is the one way screens start slow work, so the event
loop never waits on hardware or the network.
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, Signal, Slot

__all__ = ["BackgroundOps", "Operation"]

log = logging.getLogger(__name__)


@dataclass(eq=False)
class Operation:
    """A running background operation; ``cancel()`` drops its result (the work itself cannot be interrupted)."""

    id: int
    name: str
    on_done: Callable[[Any], None] | None = None
    on_error: Callable[[BaseException], None] | None = None
    cancelled: bool = False
    finished: threading.Event = field(default_factory=threading.Event)

    def cancel(self) -> None:
        """Forget the result: neither callback will run (e.g. the card was removed mid-read)."""
        self.cancelled = True


@dataclass(frozen=True, slots=True)
class _Delivery:
    op: Operation
    result: Any
    exc: BaseException | None


class BackgroundOps(QObject):
    """A small thread pool whose results are delivered on the UI thread.

    ``busy_changed(n)`` reports how many operations are running, so screens can show progress. Separate named
    lanes (one thread each) keep, e.g., card reads in order while a print job is still running.
    """

    busy_changed = Signal(int)
    # One object per delivery, never a bare None: PySide6 6.12 lost a reference to None on each such delivery and
    # aborted after many ("none_dealloc"). requirements.lock pins 6.11.3, which is clean
    # (tests/ui/test_pyside_refcounts.py); the wrapper keeps the kiosk safe should that pin ever move.
    _finished = Signal(object)

    def __init__(self, parent: QObject | None = None, *, workers: int = 4) -> None:
        super().__init__(parent)
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="uketsuke-op")
        self._lanes: dict[str, ThreadPoolExecutor] = {}
        self._ids = itertools.count(1)
        self._running: set[Operation] = set()
        self._lock = threading.Lock()
        self._closed = False
        # Queued: the slot runs on the thread this object lives on (the UI thread), whatever thread emits.
        self._finished.connect(self._deliver)

    @property
    def busy(self) -> int:
        """Number of operations started and not yet delivered."""
        with self._lock:
            return len(self._running)

    def run(
        self,
        name: str,
        fn: Callable[..., Any],
        *args: Any,
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[BaseException], None] | None = None,
        lane: str | None = None,
        **kwargs: Any,
    ) -> Operation:
        """Run ``fn(*args, **kwargs)`` in the background; ``on_done(result)`` / ``on_error(exc)`` run on the UI thread.

        ``lane`` names a single-threaded queue (e.g. "card", "printer") for work that must not overlap.
        """
        if self._closed:
            raise RuntimeError("BackgroundOps is shut down")
        op = Operation(id=next(self._ids), name=name, on_done=on_done, on_error=on_error)
        with self._lock:
            self._running.add(op)
            count = len(self._running)
        executor = self._pool if lane is None else self._lane(lane)
        executor.submit(self._work, op, fn, args, kwargs)
        self.busy_changed.emit(count)
        return op

    def _lane(self, lane: str) -> ThreadPoolExecutor:
        if lane not in self._lanes:
            self._lanes[lane] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"uketsuke-{lane}")
        return self._lanes[lane]

    def _work(self, op: Operation, fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        try:
            result = fn(*args, **kwargs)
        except BaseException as exc:  # delivered to the UI's error handler; a worker must never die silently
            self._finished.emit(_Delivery(op, None, exc))
        else:
            self._finished.emit(_Delivery(op, result, None))
        finally:
            op.finished.set()

    @Slot(object)
    def _deliver(self, delivery: _Delivery) -> None:
        op, result, exc = delivery.op, delivery.result, delivery.exc
        with self._lock:
            self._running.discard(op)
            count = len(self._running)
        self.busy_changed.emit(count)
        if op.cancelled:
            return
        if exc is not None:
            if op.on_error is not None:
                op.on_error(exc)
            else:
                log.error("background operation %s failed: %r", op.name, exc)
        elif op.on_done is not None:
            op.on_done(result)

    def shutdown(self, wait: bool = True) -> None:
        """Stop accepting work; with ``wait``, let running work finish (results are no longer delivered)."""
        self._closed = True
        with self._lock:
            for op in self._running:
                op.cancel()
        for ex in [self._pool, *self._lanes.values()]:
            ex.shutdown(wait=wait, cancel_futures=True)
