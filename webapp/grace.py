"""How a job outlives its tab: where its events go, and how long it waits detached.

When a tab's connection drops, its job keeps training, detached, for the grace period
(a reload, a page switch or a network blip takes a few seconds); then it is stopped as
before. Events that reach no page still carry epochs' losses; ``Route`` keeps those for
the next event that is delivered, so a page sees every epoch.
"""

from __future__ import annotations

import itertools
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
    """Detached jobs waiting for their page: each is stopped when its timer runs out.

    Each grace period has its own token. A timer whose wait has ended runs even if it is
    cancelled a moment later (its callback may be waiting for the manager's lock while an
    ``attach`` runs), so ``expire`` is called with the token and must ``claim`` it: a late
    timer of an earlier period then finds its token gone and ends nothing. Callers hold
    the manager's lock around every method."""

    def __init__(self, seconds: float, expire):
        self.seconds = seconds
        self._expire = expire  # called with (job id, token) when a grace period ends
        self._timers: dict[str, tuple[threading.Timer, int]] = {}
        self._tokens = itertools.count()

    def start(self, job_id: str) -> None:
        self.cancel(job_id)  # one grace period per job at a time
        token = next(self._tokens)
        timer = threading.Timer(self.seconds, self._expire, args=(job_id, token))
        timer.daemon = True
        self._timers[job_id] = (timer, token)
        timer.start()

    def claim(self, job_id: str, token: int) -> bool:
        """True (and the period is over) if ``token`` is the job's current grace period."""
        entry = self._timers.get(job_id)
        if entry is None or entry[1] != token:
            return False
        del self._timers[job_id]
        return True

    def cancel(self, job_id: str) -> None:
        entry = self._timers.pop(job_id, None)
        if entry is not None:
            entry[0].cancel()

    def cancel_all(self) -> None:
        for job_id in list(self._timers):
            self.cancel(job_id)
