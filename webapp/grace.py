"""How a job outlives its tab: where its events go, and how long it waits detached.

When a tab's connection drops, its job keeps training, detached, for the grace period
(a reload, a page switch or a network blip takes a few seconds); then it is stopped as
before. Events that reach no page still carry epochs' losses; ``Route`` keeps those for
the next event that is delivered, so a page sees every epoch.
"""

from __future__ import annotations

import threading


class Route:
    """Where a job's events go: the connection it is attached to (None while detached).

    Events that cannot be delivered (no connection, or a client too far behind) still
    carry epochs' losses; ``hold`` keeps those for the next delivered event, so the page
    sees every epoch. ``lock`` orders delivery against ``attach``."""

    def __init__(self, sid: str | None):
        self.sid = sid
        self.lock = threading.Lock()
        self.dataset: dict | None = None  # the job's dataset event, for a page that attaches
        self._held: dict | None = None

    def hold(self, event: dict) -> None:
        self._held = _joined(self._held, event.get("history"))

    def release_into(self, name: str, event: dict) -> None:
        """Put held epochs in front of this event's own, if it is one that carries them."""
        if self._held is not None and name in ("epoch", "status"):
            event["history"] = _joined(self._held, event.get("history"))
            self._held = None

    def attach(self, sid: str) -> None:
        """Deliver to ``sid`` from now on; what was held is in the attach answer already."""
        self.sid, self._held = sid, None


def _joined(first: dict | None, second: dict | None) -> dict | None:
    if first is None or second is None:
        return first or second
    return {name: first[name] + second[name] for name in first}


class Grace:
    """Detached jobs waiting for their page: each is stopped when its timer runs out."""

    def __init__(self, seconds: float, expire):
        self.seconds = seconds
        self._expire = expire  # called with the job id when its grace ends
        self._timers: dict[str, threading.Timer] = {}

    def start(self, job_id: str) -> None:
        timer = threading.Timer(self.seconds, self._expire, args=(job_id,))
        timer.daemon = True
        self._timers[job_id] = timer
        timer.start()

    def cancel(self, job_id: str) -> None:
        timer = self._timers.pop(job_id, None)
        if timer is not None:
            timer.cancel()

    def forget(self, job_id: str) -> None:
        self._timers.pop(job_id, None)

    def cancel_all(self) -> None:
        for job_id in list(self._timers):
            self.cancel(job_id)
