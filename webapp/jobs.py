"""The job manager: which browser tab runs which training job.

Each Socket.IO session (one browser tab) has at most one job, run by a background task
that forwards the job's events to that session only. A server-wide cap keeps a class
of thirty laptops from melting one server: it counts every job until its thread has
ended, so a job that was told to stop still counts while it winds down. A short memory of
ended jobs lets a tab that reconnects learn what became of its job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from bpnet.engine import TrainingJob

from . import wire
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

    def __init__(self, socketio, max_jobs: int):
        self.socketio = socketio
        self.max_jobs = max_jobs
        self._jobs: dict[str, TrainingJob] = {}  # the job each tab holds
        self._live: dict[str, tuple[TrainingJob, threading.Event]] = {}  # by job id, until
        # its thread has ended (the event is set then); what the cap counts
        self._starting: set[str] = set()  # tabs whose start is being handled
        self._ended: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.roster = Roster()  # the teacher's view of the running jobs

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
        try:
            if old is not None and not self._wait_ended(old, REPLACE_WAIT):
                raise ServerBusy("your previous job is still stopping; press Start again shortly")
            with self._lock:
                running = len(self._live)
                if running >= self.max_jobs:
                    raise ServerBusy(f"server busy: {running} jobs running, try again shortly")
                job = TrainingJob(config)
                self._jobs[sid] = job
                self._live[job.id] = (job, threading.Event())
            try:
                self.socketio.start_background_task(self._run, sid, job)
            except Exception:
                with self._lock:
                    self._jobs.pop(sid, None)
                    self._live.pop(job.id, None)
                raise
            return job
        finally:
            with self._lock:
                self._starting.discard(sid)

    def job(self, sid: str) -> TrainingJob | None:
        return self._jobs.get(sid)

    def network(self, sid: str) -> TrainingJob | None:
        """The tab's job whether it runs or has ended: its network answers questions
        (``predict``) until the tab starts another job or closes."""
        return self._jobs.get(sid)

    def find(self, job_id: str) -> TrainingJob | None:
        """The job with this id, if its tab still holds it."""
        return next((job for job in list(self._jobs.values()) if job.id == job_id), None)

    def ended(self, job_id: str) -> tuple[str, str] | None:
        """(state, message) of a job that has ended, if it is still remembered."""
        return self._ended.get(job_id)

    def stop(self, sid: str, wait: float = 0.0) -> None:
        """Stop ``sid``'s job (a tab closed); optionally wait for its thread to end. The job
        counts against the cap until then either way."""
        with self._lock:
            job = self._jobs.pop(sid, None)
        if job is not None:
            job.stop()
            if wait:
                self._wait_ended(job, wait)

    def stop_all(self, wait: float = 5.0, reason: str = "") -> None:
        """Stop every live job at once (``reason`` goes into their ``stopped`` message), then
        wait up to ``wait`` seconds in all for their threads to end."""
        with self._lock:
            live = list(self._live.values())
            self._jobs.clear()
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
        """Jobs whose thread has not ended yet, stopping ones included."""
        return len(self._live)

    def _wait_ended(self, job: TrainingJob, timeout: float) -> bool:
        """Stop ``job`` and wait until its thread has ended; False if it had not in time."""
        job.stop()
        entry = self._live.get(job.id)
        return entry is None or entry[1].wait(timeout)

    def _run(self, sid: str, job: TrainingJob) -> None:
        def forward(event: dict) -> None:
            if not self._connected(sid):
                # The tab left while its start was being handled (handlers run in threads,
                # so a disconnect can come first): nobody will ever stop this job but us.
                self._drop(sid, job)
            name = event.pop("event")
            self.roster.note(job, name, event)
            if name == "progress" and self._backlog(sid) > BACKLOG_LIMIT:
                return  # a slow browser: skip progress rather than queue without bound
            last_epoch = name == "epoch" and event["epoch"] == event["epochs"]
            if name == "epoch" and not last_epoch and self._backlog(sid) > 2 * BACKLOG_LIMIT:
                return
            wire.dumps(event)  # raises on NaN/Infinity: the job then fails with a message
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

    def _connected(self, sid: str) -> bool:
        try:
            return self.socketio.server.manager.is_connected(sid, "/")
        except Exception:
            return True  # when in doubt, keep the job: its tab may still be watching

    def _drop(self, sid: str, job: TrainingJob) -> None:
        with self._lock:
            if self._jobs.get(sid) is job:
                del self._jobs[sid]
        job.stop()

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
