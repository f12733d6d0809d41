"""When a job reports: its clock, the pace of its epoch events, and one epoch's figures.

A job trains far faster than a page can draw, so epoch events are paced (``Pacing``) and
progress within an epoch is sent a few times a second (``EpochMeter``). The clock leaves
pauses out, so ``elapsed`` is training time.
"""

from __future__ import annotations

import math
import time

import numpy as np

PROGRESS_INTERVAL = 0.25  # seconds between within-epoch progress events


class Clock:
    """Seconds since the job started, not counting pauses."""

    def __init__(self):
        self._start = time.perf_counter()
        self._paused_at: float | None = None

    def now(self) -> float:
        return time.perf_counter() - self._start

    def pause(self) -> None:
        self._paused_at = time.perf_counter()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._start += time.perf_counter() - self._paused_at
            self._paused_at = None


class Pacing:
    """Epoch events at most ``rate`` per second (the page can't draw more); the first is
    always sent, and the job sends the last one itself."""

    def __init__(self, rate: float):
        self.min_gap = 1.0 / rate
        self.last_sent = -math.inf

    def ready(self, now: float) -> bool:
        """Would an epoch ending now be sent?"""
        return now - self.last_sent >= self.min_gap

    def due(self, now: float) -> bool:
        if now - self.last_sent < self.min_gap:
            return False
        self.last_sent = now
        return True


class EpochMeter:
    """One epoch's running figures: mean training loss, examples per second, and the
    per-layer gradient norms averaged over the batches where they were measured."""

    def __init__(self, layers: int, start: float):
        self.start = start
        self.loss_sum, self.seen = 0.0, 0
        self.norm_sum, self.measured = np.zeros(layers), 0
        self.last_progress = start

    def add(self, loss: float, batch_size: int, norms: list[float] | None) -> None:
        self.loss_sum += loss * batch_size
        self.seen += batch_size
        if norms is not None:
            self.norm_sum += norms
            self.measured += 1

    def progress_due(self, now: float) -> bool:
        if now - self.last_progress < PROGRESS_INTERVAL:
            return False
        self.last_progress = now
        return True

    @property
    def mean_loss(self) -> float:
        return self.loss_sum / self.seen

    @property
    def mean_norms(self) -> list[float]:
        return (self.norm_sum / max(self.measured, 1)).tolist()

    def rate(self, now: float) -> float:
        return self.seen / max(now - self.start, 1e-9)
