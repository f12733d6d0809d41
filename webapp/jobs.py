"""The job manager: which browser tab runs which training job.

Each Socket.IO session (one browser tab) has at most one job, run by a background task
that forwards the job's events to that session only. A server-wide cap keeps a class
of thirty laptops from melting one server, and a short memory of ended jobs lets a tab
that reconnects learn what became of its job.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict

from bpnet.engine import TrainingJob

from .teacher import Roster

log = logging.getLogger(__name__)

BACKLOG_LIMIT = 64  # queued packets for one client before we drop its progress updates
ENDED_MEMORY = 1000  # ended jobs remembered for reconnecting tabs


class ServerBusy(Exception):
    pass


class JobManager:
    """Start, find, and stop jobs by Socket.IO session id; forward their events."""

    def __init__(self, socketio, max_jobs: int):
        self.socketio = socketio
        self.max_jobs = max_jobs
        self._jobs: dict[str, TrainingJob] = {}
        self._threads: dict[str, object] = {}
        self._ended: OrderedDict[str, tuple[str, str]] = OrderedDict()
        self._lock = threading.Lock()
        self.roster = Roster()  # the teacher's view of the running jobs

    def start(self, sid: str, config) -> TrainingJob:
        """Start a job for ``sid``, replacing (stopping) the one it had.

        Raises:
            ServerBusy: ``max_jobs`` other jobs are already running.
        """
        with self._lock:
            old = self._jobs.pop(sid, None)
            if old is not None:
                old.stop()
            running = sum(not job.done for job in self._jobs.values())
            if running >= self.max_jobs:
                raise ServerBusy(
                    f"server busy: {running} job{'s' * (running != 1)} running, try again shortly"
                )
            job = TrainingJob(config)
            self._jobs[sid] = job
            # under the lock, so that two quick starts from one tab keep job and thread paired
            self._threads[sid] = self.socketio.start_background_task(self._run, sid, job)
        return job

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
        """Stop ``sid``'s job (a tab closed); optionally wait for its thread to end."""
        with self._lock:
            job = self._jobs.pop(sid, None)
            thread = self._threads.pop(sid, None)
        if job is not None:
            job.stop()
            if wait and thread is not None:
                thread.join(wait)

    def stop_all(self, wait: float = 5.0) -> None:
        """Stop every job at once, then wait up to ``wait`` seconds in all for their threads."""
        with self._lock:
            jobs, threads = list(self._jobs.values()), list(self._threads.values())
            self._jobs.clear()
            self._threads.clear()
        for job in jobs:
            job.stop()
        deadline = time.monotonic() + wait
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))

    def listing(self) -> list[dict]:
        """The running jobs for the teacher's view (``webapp.teacher``)."""
        return self.roster.listing()

    def stop_job(self, job_id: str) -> bool:
        """The teacher's stop button: False when no such job runs."""
        return self.roster.stop(job_id)

    def running(self) -> int:
        return sum(not job.done for job in list(self._jobs.values()))

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
            self.socketio.emit(name, event, to=sid)

        try:
            job.run(forward)
        except Exception:  # run() reports its own errors; this is only for emit failures
            log.exception("job %s could not report its events", job.id)
        finally:
            self._remember(job)  # for a tab that reconnects and asks what became of it

    def _connected(self, sid: str) -> bool:
        try:
            return self.socketio.server.manager.is_connected(sid, "/")
        except Exception:
            return True  # when in doubt, keep the job: its tab may still be watching

    def _drop(self, sid: str, job: TrainingJob) -> None:
        with self._lock:
            if self._jobs.get(sid) is job:
                del self._jobs[sid]
                self._threads.pop(sid, None)
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
