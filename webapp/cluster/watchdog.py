"""A web process's watchdog in class mode: what nobody else would tell a tab.

Every second it refreshes the web process's liveness key (``keys.web``), fails every live
job of the cluster whose worker stopped beating (a detached job has no tab to watch it),
forgets our tabs' jobs that a tab elsewhere took over, and, after ``OUTAGE_LIMIT`` seconds
without Redis, gives our tabs' jobs up. Ends it could not write are written when Redis is back.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from typing import TYPE_CHECKING

import redis

from . import keys
from .proxy import QUEUE_DOWN

if TYPE_CHECKING:
    from .remote import RemoteJobManager

log = logging.getLogger(__name__)

WORKER_DIED = "the worker running this job stopped"


class Watchdog:
    """Watches the jobs of ``manager``'s tabs (``watch``) and the cluster's live jobs."""

    def __init__(self, manager: RemoteJobManager):
        self._manager = manager
        self._tabs: dict[str, str] = {}  # job id -> sid of our tab, until the job ends
        self._unwritten: dict[str, tuple[str, str]] = {}  # job id -> (state, message)
        self._lock = threading.Lock()
        self.alive()
        threading.Thread(target=self._run, name="bpnet-watchdog", daemon=True).start()

    def watch(self, job_id: str, sid: str) -> None:
        with self._lock:
            self._tabs[job_id] = sid

    def unwatch(self, job_id: str, sid: str) -> None:
        with self._lock:
            if self._tabs.get(job_id) == sid:
                del self._tabs[job_id]

    def end(self, job_id: str, state: str, message: str) -> None:
        """Write the job's end into its record and tell its tab. Without Redis the record
        is written when Redis is back: its worker, if it survived the outage, then stops
        the job that nobody watches any more."""
        with self._lock:
            self._unwritten[job_id] = (state, message)
            sid = self._tabs.pop(job_id, None)
        self._write_ends()
        if sid is not None:
            event = {"job": job_id, "time": time.time(), "state": state, "message": message}
            # straight to the tab from this process: the message queue may be the thing down
            self._manager.socketio.emit("status", event, to=sid, ignore_queue=True)

    def alive(self) -> None:
        """Refresh this process's liveness key: a worker lets the grace period of our tabs'
        jobs run once it has expired (this process was killed)."""
        with contextlib.suppress(redis.RedisError):
            self._manager.redis.set(keys.web(self._manager.name), 1, ex=keys.WEB_TTL)

    def _write_ends(self) -> None:
        r = self._manager.redis
        with self._lock:
            ends = list(self._unwritten.items())
        for job_id, (state, message) in ends:
            try:
                pipe = r.pipeline()
                pipe.exists(keys.job(job_id))
                pipe.hset(keys.job(job_id), mapping={"state": state, "message": message})
                pipe.srem(keys.LIVE, job_id)
                pipe.expire(keys.job(job_id), 3600)
                if not pipe.execute()[0]:  # Redis came back empty: no half record
                    r.delete(keys.job(job_id))
            except redis.RedisError:
                return
            with self._lock:
                self._unwritten.pop(job_id, None)

    def _run(self) -> None:
        last_ok = time.monotonic()
        while True:
            time.sleep(keys.WATCH_EVERY)
            with self._lock:
                watched = list(self._tabs)
            try:
                self.alive()
                self._write_ends()
                live = {x.decode() for x in self._manager.redis.smembers(keys.LIVE)}
                for job_id in live | set(watched):
                    self._check(job_id)
                last_ok = time.monotonic()
            except redis.RedisError:
                if time.monotonic() - last_ok > keys.OUTAGE_LIMIT:
                    for job_id in watched:
                        self.end(job_id, "failed", "lost contact with the job queue: " + QUEUE_DOWN)
            except Exception:
                log.exception("the watchdog could not check the jobs")

    def _check(self, job_id: str) -> None:
        pipe = self._manager.redis.pipeline()
        pipe.hmget(keys.job(job_id), "state", "worker", "tab")
        pipe.exists(keys.alive(job_id))
        (state, worker, tab), alive = pipe.execute()
        state = state.decode() if state else None
        with self._lock:
            sid = self._tabs.get(job_id)
        if tab is not None and sid is not None and tab.decode() != sid:
            self._manager.lost(sid, job_id)  # a tab elsewhere attached: ours was told
        elif state is None or state in keys.DONE:
            with self._lock:
                self._tabs.pop(job_id, None)  # ended: its worker said so
        elif worker is not None and not alive:
            log.warning("job %s: its worker %s stopped beating", job_id, worker.decode())
            self.end(job_id, "failed", WORKER_DIED)
