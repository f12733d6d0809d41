"""Where a worker's job sends its events, and what it leaves for a tab that comes back.

The worker keeps its job's ``TabRoute`` as the threads mode's job manager keeps a
``Route``: events go to the tab's Socket.IO session through the message queue, are held
while no tab holds the job, and ``attach`` hands the job to a tab on any web process with
the record so far. A tab away longer than the grace period (closed, or its web process
vanished) stops the job. An ended job leaves ``Remains`` in Redis, which answer as the
ended ``TrainingJob`` would.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from bpnet.engine import TrainingJob
from bpnet.engine.history import History
from bpnet.model_io import load_model, save_model

from ..grace import Route


class TabRoute(Route):
    """``Route`` plus the web process holding the tab and the grace period.

    ``away_since`` is when the job last lost its tab (None while a live tab holds it)."""

    def __init__(self, sid: str, web: str, grace: float):
        super().__init__(sid)
        self.web, self.grace = web, grace
        self.away_since: float | None = None

    def overdue(self, web_alive: bool, now: float) -> bool:
        """Called every heartbeat: True once no live tab has held the job for ``grace`` s.
        ``web_alive``: whether the holding tab's web process still refreshes its key."""
        with self.lock:
            if self.sid is not None and web_alive:
                self.away_since = None
                return False
            if self.away_since is None:
                self.away_since = now
            return now - self.away_since >= self.grace


class HistoryCopy:
    """A job's ``History`` as read from its worker at one moment: the reads the attach
    answer and the CSV download make."""

    def __init__(self, snapshot: dict, picture: dict | None):
        self._snapshot, self.picture = snapshot, picture

    def snapshot(self) -> dict:
        return self._snapshot

    to_csv = History.to_csv  # it reads only ``snapshot()``


# Calls about the job's tab rather than its training, answered by the worker beside the
# TrainingJob methods of ``keys.CALLS``; each takes (job, route, *args).


def attach(job: TrainingJob, route: TabRoute, sid: str, web: str) -> dict:
    """Send the job's events to ``sid`` (on web process ``web``) from now on.

    Returns:
        history (snapshot), picture, dataset event, and the sid that held the job before
        (None when none did, or it was this one)."""
    with route.lock:  # no epoch falls between the snapshot and the next delivered event
        history, picture = job.history.snapshot(), job.history.picture
        previous = route.sid
        route.attach(sid)
        route.web, route.away_since = web, None
        dataset = route.dataset
    return {
        "history": history, "picture": picture, "dataset": dataset,
        "previous": None if previous == sid else previous,
    }  # fmt: skip


def detach(job: TrainingJob, route: TabRoute, sid: str) -> None:
    """``sid`` went away: hold the events and let the grace period run, unless another
    tab took the job meanwhile."""
    with route.lock:
        if route.sid == sid:
            route.sid, route.away_since = None, time.time()


def history(job: TrainingJob, route: TabRoute) -> HistoryCopy:
    return HistoryCopy(job.history.snapshot(), job.history.picture)


ROUTE_CALLS = {"attach": attach, "detach": detach, "history": history}


class Remains:
    """What an ended job leaves in Redis (pickled): its weights, description, history and
    dataset event. It answers ``weights``, ``model_info``, ``history`` and ``predict`` as
    the ended ``TrainingJob`` does, so those still work after the worker moved on."""

    def __init__(self, job: TrainingJob, dataset: dict | None):
        self._weights, self._description = job.weights(), job.model_info()
        self.history = HistoryCopy(job.history.snapshot(), job.history.picture)
        self.dataset = dataset
        self._network = None  # rebuilt on the first predict, in the web process

    def __getstate__(self) -> dict:
        return {**self.__dict__, "_network": None}

    def weights(self) -> dict | None:
        return self._weights

    def model_info(self) -> dict | None:
        return self._description

    def predict(self, inputs):
        """The ended network's answer, rebuilt from the weights file format (the same
        scaling as the job's). Shape: (N, 784) in 0..1 -> (N, classes); None when the job
        ended before its network was built."""
        if self._weights is None or self._description is None:
            return None
        if self._network is None:
            with tempfile.TemporaryDirectory() as folder:
                path = save_model(self._weights, Path(folder) / "w.npz", self._description)
                self._network = load_model(path)[1]
        return self._network.predict(inputs)
