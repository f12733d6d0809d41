"""The job manager: which browser tab runs which training job.

Each Socket.IO session (one browser tab) has at most one job, run by a background task
that forwards the job's events to that session only. When the session ends, the job waits
detached for a grace period (``grace.py``) for its page to ``attach`` again. A server-wide
cap keeps a class of thirty laptops from melting one server: it counts every job until its
thread has ended, so a job that was told to stop still counts while it winds down. A short
memory of ended jobs lets a tab that reconnects learn what became of its job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from bpnet.engine import TrainingJob

from . import wire
from .grace import Grace, Route
from .step_gate import StepGate, gate_for
from .teacher import Roster

log = logging.getLogger(__name__)

BACKLOG_LIMIT = 64  # queued packets for one client before we drop its progress updates
ENDED_MEMORY = 1000  # ended jobs remembered for reconnecting tabs
REPLACE_WAIT = 10.0  # seconds a start waits for the tab's previous job to end: < 0.5 s
# usually, but the first MNIST job loads the data set (seconds) before it can check stop


class ServerBusy(Exception):
    pass


class JobManager:
    """Start, find, and stop jobs by Socket.IO session id; forward their events."""

    def __init__(self, socketio, max_jobs: int, grace: float = 0.0):
        self.socketio = socketio
        self.max_jobs = max_jobs
        self._jobs: dict[str, TrainingJob] = {}  # the job each tab holds
        self._live: dict[str, tuple[TrainingJob, threading.Event]] = {}  # by job id, until
        # its thread has ended (the event is set then); what the cap counts
        self._starting: set[str] = set()  # tabs whose start is being handled
        self._routes: dict[str, Route] = {}  # by job id, attached or detached
        self._detached: dict[str, TrainingJob] = {}  # by job id, in their grace period
        self._grace = Grace(grace, self._expire)
        self._ended: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.roster = Roster()  # the teacher's view of the running jobs
        self.step_gate = StepGate()  # small jobs' steps, one at a time (step_gate.py)

    def start(self, sid: str, config) -> TrainingJob:
        """Start a job for ``sid``, replacing the one it had: that one is stopped and waited
        for, so that one tab never trains twice at once.

        Raises:
            ServerBusy: ``max_jobs`` jobs are running, this tab's previous job has not
                ended yet, or another start from this tab is being handled.
        """
        with self._lock:
            if sid in self._starting:
                raise ServerBusy("your previous start is still being handled; try again shortly")
            self._starting.add(sid)
            old = self._jobs.pop(sid, None)
            if old is not None:
                self._routes.pop(old.id, None)
        try:
            if old is not None and not self._wait_ended(old, REPLACE_WAIT):
                raise ServerBusy("your previous job is still stopping; press Start again shortly")
            with self._lock:
                running = len(self._live)
                if running >= self.max_jobs:
                    raise ServerBusy(
                        f"server busy: {running} job{'s' * (running != 1)} running, "
                        "try again shortly"
                    )
                job = TrainingJob(config)
                job.step_gate = gate_for(config, self.step_gate)
                self._jobs[sid] = job
                self._live[job.id] = (job, threading.Event())
                route = self._routes[job.id] = Route(sid)
            try:
                self.socketio.start_background_task(self._run, route, job)
            except Exception:
                with self._lock:
                    self._jobs.pop(sid, None)
                    self._live.pop(job.id, None)
                    self._routes.pop(job.id, None)
                raise
            return job
        finally:
            with self._lock:
                self._starting.discard(sid)

    def job(self, sid: str) -> TrainingJob | None:
        """The tab's job whether it runs or has ended: an ended job's network still answers
        questions (``predict``) until the tab starts another job or closes."""
        return self._jobs.get(sid)

    def find(self, job_id: str) -> TrainingJob | None:
        """The job with this id, if its tab still holds it or it waits for its tab."""
        with self._lock:
            jobs = [*self._jobs.values(), *self._detached.values()]
        return next((job for job in jobs if job.id == job_id), None)

    def ended(self, job_id: str) -> tuple[str, str] | None:
        """(state, message) of a job that has ended, if it is still remembered."""
        return self._ended.get(job_id)

    def stop(self, sid: str, wait: float = 0.0) -> None:
        """Stop ``sid``'s job (the tab asked, or closed with no grace); optionally wait for
        its thread to end. The job counts against the cap until then either way."""
        with self._lock:
            job = self._jobs.pop(sid, None)
            if job is not None:
                self._routes.pop(job.id, None)
        if job is not None:
            job.stop()
            if wait:
                self._wait_ended(job, wait)

    def detach(self, sid: str) -> None:
        """``sid``'s connection ended: its job keeps running for the grace period, waiting
        for a page to ``attach``; with no grace it is stopped at once."""
        if self._grace.seconds <= 0:
            return self.stop(sid)
        with self._lock:
            job = self._jobs.pop(sid, None)
            if job is None:
                return None
            self._detached[job.id] = job
            route = self._routes.get(job.id)
            self._grace.start(job.id)
        if route is not None:
            with route.lock:
                if route.sid == sid:
                    route.sid = None
        return None

    def attach(self, sid: str, job_id: str):
        """Move the job with this id to ``sid`` (from its grace period or from another
        connection, which is returned so it can be told); None when there is no such job.

        Returns:
            (job, dataset event or None, history snapshot, latest picture or None,
            previous sid or None).
        """
        with self._lock:
            previous, job = None, self._detached.pop(job_id, None)
            if job is not None:
                self._grace.cancel(job_id)
            else:
                previous = next((s for s, j in self._jobs.items() if j.id == job_id), None)
                if previous is None:
                    return None
                job = self._jobs.pop(previous)
            own = self._jobs.pop(sid, None)
            if own is not None and own is not job:
                own.stop()  # one job per connection, as with start
                self._routes.pop(own.id, None)
            self._jobs[sid] = job
            route = self._routes[job.id]
        with route.lock:  # no epoch falls between the snapshot and the next delivered event
            history, picture = job.history.snapshot(), job.history.picture
            route.attach(sid)
            dataset = route.dataset
        return job, dataset, history, picture, (None if previous == sid else previous)

    def _expire(self, job_id: str, token: int) -> None:
        """The grace period ran out and no page attached: stop the job as a closed tab's."""
        with self._lock:
            if not self._grace.claim(job_id, token):
                return  # a page attached meanwhile; a later grace period has its own timer
            job = self._detached.pop(job_id, None)
            if job is not None:
                self._routes.pop(job_id, None)
        if job is not None:
            job.stop()

    def stop_all(self, wait: float = 5.0, reason: str = "") -> None:
        """Stop every live job at once (``reason`` goes into their ``stopped`` message), then
        wait up to ``wait`` seconds in all for their threads to end."""
        with self._lock:
            live = list(self._live.values())
            self._jobs.clear()
            self._detached.clear()
            self._routes.clear()
            self._grace.cancel_all()
        for job, _ in live:
            job.stop(reason)
        deadline = time.monotonic() + wait
        for _, ended in live:
            ended.wait(max(0.0, deadline - time.monotonic()))

    def listing(self) -> list[dict]:
        """The running jobs for the teacher's view (``webapp.teacher``)."""
        return self.roster.listing()

    def stop_job(self, job_id: str) -> bool:
        """The teacher's stop button: False when no such job runs."""
        return self.roster.stop(job_id)

    def running(self) -> int:
        """Jobs whose thread has not ended yet, stopping and detached ones included."""
        return len(self._live)

    def _wait_ended(self, job: TrainingJob, timeout: float) -> bool:
        """Stop ``job`` and wait until its thread has ended; False if it had not in time."""
        job.stop()
        entry = self._live.get(job.id)
        return entry is None or entry[1].wait(timeout)

    def _run(self, route: Route, job: TrainingJob) -> None:
        def forward(event: dict) -> None:
            sid = route.sid
            if sid is not None and not self._connected(sid):
                # The tab left while its start was being handled (handlers run in threads,
                # so a disconnect can come first): nobody else will detach this job.
                self.detach(sid)
            name = event.pop("event")
            self.roster.note(job, name, event)
            wire.dumps(event)  # raises on NaN/Infinity: the job then fails with a message
            with route.lock:
                if name == "dataset":
                    route.dataset = event
                sid = route.sid
                if sid is None or self._too_far_behind(sid, name, event):
                    return route.hold(event)
                route.release_into(name, event)
            self.socketio.emit(name, event, to=sid)

        try:
            job.run(forward)
        except Exception:  # run() reports its own errors; this is only for emit failures
            log.exception("job %s could not report its events", job.id)
        finally:
            self._remember(job)  # for a tab that reconnects and asks what became of it
            with self._lock:
                _, ended = self._live.pop(job.id)
            ended.set()

    def _too_far_behind(self, sid: str, name: str, event: dict) -> bool:
        """A slow browser: skip progress, then intermediate epochs, rather than queue
        without bound (their epochs' losses are held for the next event sent)."""
        if name == "progress":
            return self._backlog(sid) > BACKLOG_LIMIT
        last_epoch = name == "epoch" and event["epoch"] == event["epochs"]
        return name == "epoch" and not last_epoch and self._backlog(sid) > 2 * BACKLOG_LIMIT

    def _connected(self, sid: str) -> bool:
        try:
            return self.socketio.server.manager.is_connected(sid, "/")
        except Exception:
            return True  # when in doubt, keep the job: its tab may still be watching

    def _remember(self, job: TrainingJob) -> None:
        with self._lock:
            self._ended[job.id] = (job.state, job.message)
            self._ended.move_to_end(job.id)
            while len(self._ended) > ENDED_MEMORY:
                self._ended.popitem(last=False)

    def _backlog(self, sid: str) -> int:
        """Packets waiting to be written to this client (0 when unknown)."""
        try:
            server = self.socketio.server
            eio_sid = server.manager.eio_sid_from_sid(sid, "/")
            return server.eio.sockets[eio_sid].queue.qsize()
        except Exception:
            return 0
