"""The job manager of a web process in class mode: jobs are queued for worker processes.

``RemoteJobManager`` has ``JobManager``'s interface, so the socket handlers do not know
which mode they run in. Its jobs are ``RemoteJob`` proxies that forward the calls listed
in ``keys.CALLS`` to the worker running the job. A ``Watchdog`` thread tells a tab when
the worker of its job died, or when Redis has been away too long.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
import time
import uuid
from collections import OrderedDict

import redis
from rq import Queue

from bpnet.engine import parse_config
from bpnet.engine.config import as_dict

from ..jobs import ServerBusy
from ..teacher import summary
from . import keys
from .proxy import QUEUE_DOWN, QueueUnavailable, RemoteJob
from .route import Remains
from .running import run_job
from .watchdog import Watchdog

log = logging.getLogger(__name__)

REMAINS_CACHED = 16  # ended jobs' remains kept in memory, for predict on a drawn digit


class RemoteJobManager:
    """Start jobs on the cluster's queue and find them again; same interface as
    ``webapp.jobs.JobManager``. The record's ``tab`` field says which connection holds
    a job, cluster-wide; this process keeps the jobs of its own connections."""

    def __init__(self, socketio, url: str, max_jobs: int, relay=None, grace: float = 0.0):
        self.socketio = socketio
        self.relay = relay  # our end of the message queue (None in tests without one)
        self.max_jobs = max_jobs
        self.grace = grace
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.queue = Queue(keys.QUEUE, connection=self.redis)
        self.name = keys.this_process()
        self._jobs: dict[str, RemoteJob] = {}  # by sid: the job each of our tabs holds
        self._remains: OrderedDict[str, Remains] = OrderedDict()
        self._lock = threading.Lock()
        self.watchdog = Watchdog(self)

    def start(self, sid: str, config) -> RemoteJob:
        """Queue a job for ``sid``, replacing the one it had.

        Raises:
            ServerBusy: ``max_jobs`` jobs are already live on the cluster.
            QueueUnavailable: Redis cannot be reached.
        """
        with self._lock:
            old = self._jobs.pop(sid, None)
        if old is not None:
            self._quietly(old.stop)
        job = RemoteJob(self, uuid.uuid4().hex[:12], config)
        if self.relay is not None and not self.relay.listening.wait(2.0):
            raise QueueUnavailable(QUEUE_DOWN)  # the job's events would be lost
        try:
            # add first, then count: two racing starts may both be refused, never both let in
            pipe = self.redis.pipeline()
            pipe.sadd(keys.LIVE, job.id)
            pipe.scard(keys.LIVE)
            live = pipe.execute()[1]
            if live > self.max_jobs:
                self.redis.srem(keys.LIVE, job.id)
                raise ServerBusy(f"server busy: {live - 1} jobs running, try again shortly")
            self._record(job, sid, ahead=self.queue.count)
            self.queue.enqueue(
                run_job, job.id, as_dict(config), job_id=f"bpnet-{job.id}",
                job_timeout=-1, result_ttl=0, failure_ttl=3600,
            )  # fmt: skip
        except redis.RedisError as exc:
            log.warning("start refused, Redis unreachable: %s", exc)
            raise QueueUnavailable(QUEUE_DOWN) from exc
        with self._lock:
            self._jobs[sid] = job
        self.watchdog.watch(job.id, sid)
        return job

    def _record(self, job: RemoteJob, sid: str, ahead: int) -> None:
        """The job's record: what the worker needs to run it and find its tab, the
        teacher's view to list it, and any web process to find it (a download, a tab
        that moved). It starts ``queued``, saying how many jobs wait ahead of it."""
        waiting = "waiting for a free worker"
        if ahead:
            waiting += f" ({ahead} job{'s' if ahead > 1 else ''} ahead)"
        fields = {
            "config": json.dumps(as_dict(job.config)), "task": job.config.task,
            "summary": summary(job.config), "state": "queued",
            "message": waiting, "created": time.time(),
            "tab": sid, "web": self.name, "grace": self.grace,
        }  # fmt: skip
        pipe = self.redis.pipeline()
        pipe.hset(keys.job(job.id), mapping=fields)
        pipe.expire(keys.job(job.id), keys.RECORD_TTL)
        pipe.execute()

    def job(self, sid: str) -> RemoteJob | None:
        """The job ``sid`` holds; None once another tab attached to it."""
        job = self._jobs.get(sid)
        if job is None:
            return None
        try:
            tab = self.redis.hget(keys.job(job.id), "tab")
        except redis.RedisError:
            return job  # when in doubt, keep it: the tab may still be watching
        if tab is not None and tab.decode() != sid:
            self._forget(sid, job)
            return None
        return job

    def find(self, job_id: str) -> RemoteJob | None:
        """The job with this id, started by any web process of the cluster, while it
        runs or has left its remains."""
        local = next((job for job in list(self._jobs.values()) if job.id == job_id), None)
        record = self._read(job_id)
        if record is None:
            return None
        if record["state"] in keys.DONE and self.remains(job_id) is None:
            return None
        return local or RemoteJob(self, job_id, parse_config(json.loads(record["config"])))

    def ended(self, job_id: str) -> tuple[str, str] | None:
        record = self._read(job_id)
        if record is None or record["state"] not in keys.DONE:
            return None
        return record["state"], record.get("message", "")

    def remains(self, job_id: str) -> Remains | None:
        """What the ended job left (``route.Remains``), None when nothing or expired."""
        with self._lock:
            if job_id in self._remains:
                return self._remains[job_id]
        try:
            data = self.redis.get(keys.result(job_id))
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        remains = None if data is None else keys.loads(data)
        if remains is not None:
            with self._lock:
                self._remains[job_id] = remains
                while len(self._remains) > REMAINS_CACHED:
                    self._remains.popitem(last=False)
        return remains

    def stop(self, sid: str, wait: float = 0.0) -> None:
        job = self.job(sid)  # not a job another tab took over meanwhile
        if job is not None:
            self._forget(sid, job)
            self._quietly(job.stop)

    def detach(self, sid: str) -> None:
        """``sid``'s connection ended: its job keeps running for the grace period, waiting
        for a page on any web process to ``attach``; with no grace it is stopped at once.
        The job's worker keeps the time (``route.TabRoute``)."""
        if self.grace <= 0:
            return self.stop(sid)
        job = self.job(sid)  # None if another tab took it meanwhile
        if job is None:
            return None
        self._forget(sid, job)
        try:
            pipe = self.redis.pipeline()  # a transaction: see attach
            pipe.hset(keys.job(job.id), mapping={"tab": "", "away_since": time.time()})
            pipe.hget(keys.job(job.id), "worker")
            worker = pipe.execute()[1]
            if worker is not None and not job.done:
                job._call("detach", sid)
        except (redis.RedisError, RuntimeError) as exc:
            # the worker lets the grace run anyway once our liveness key is gone
            log.warning("job %s: could not detach its tab: %s", job.id, exc)
        return None

    def attach(self, sid: str, job_id: str):
        """Move the job with this id to ``sid``, from its grace period or from another
        connection on any web process; None when there is no such job (or its grace
        period is over).

        Returns:
            (job, dataset event or None, history snapshot, latest picture or None,
            previous sid or None).
        """
        record = self._read(job_id)
        if record is None or self._expired(record):
            return None
        job = next((j for j in list(self._jobs.values()) if j.id == job_id), None)
        job = job or RemoteJob(self, job_id, parse_config(json.loads(record["config"])))
        previous = record.get("tab") or None
        try:
            # one transaction: a worker that takes the job now reads either the old tab
            # (and is asked below) or the new one
            pipe = self.redis.pipeline()
            pipe.hset(keys.job(job_id), mapping={"tab": sid, "web": self.name})
            pipe.hdel(keys.job(job_id), "away_since")
            pipe.hmget(keys.job(job_id), "worker", "state")
            worker, state = pipe.execute()[2]
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        if state is not None and state.decode() in keys.DONE:
            remains = self.remains(job_id)
            if remains is None:
                return None
            dataset, history = remains.dataset, remains.history.snapshot()
            picture = remains.history.picture
        elif worker is None:  # still queued: the worker reads the new tab when it starts
            dataset, history, picture = None, job.history.snapshot(), None
        else:
            answer = job._call("attach", sid, self.name)
            dataset, history, previous = answer["dataset"], answer["history"], answer["previous"]
            picture = answer["picture"]
        with self._lock:
            for other in [s for s, j in self._jobs.items() if j.id == job_id]:
                del self._jobs[other]
            own = self._jobs.pop(sid, None)
            self._jobs[sid] = job
        self.watchdog.watch(job_id, sid)
        if own is not None and own.id != job_id:
            self._quietly(own.stop)  # one job per connection, as with start
        return job, dataset, history, picture, (None if previous == sid else previous)

    def _expired(self, record: dict) -> bool:
        """No tab has held the job for longer than the grace period (threads mode forgets
        such a job; here its record and remains are still kept for a while)."""
        away = record.get("away_since")
        if not away or record.get("tab"):
            return False
        return time.time() - float(away) > float(record.get("grace") or 0)

    def _read(self, job_id: str) -> dict | None:
        """The job's record as text, None when there is none (or Redis is away)."""
        try:
            record = self.redis.hgetall(keys.job(job_id))
        except redis.RedisError:
            return None
        if not record or b"config" not in record:
            return None
        return {k.decode(): v.decode() for k, v in record.items()}

    def _forget(self, sid: str, job: RemoteJob) -> None:
        self.lost(sid, job.id)

    def lost(self, sid: str, job_id: str) -> None:
        """Our tab ``sid`` no longer holds the job (it went, or a tab elsewhere took it)."""
        with self._lock:
            if sid in self._jobs and self._jobs[sid].id == job_id:
                del self._jobs[sid]
        self.watchdog.unwatch(job_id, sid)

    def stop_all(self, wait: float = 5.0, reason: str = "") -> None:
        """This web process shuts down: its tabs' jobs wait their grace period for the
        pages to reconnect to another web process and ``attach`` (stopped with ``reason``
        when there is no grace)."""
        with self._lock:
            held = list(self._jobs.items())
        for sid, job in held:
            if self.grace > 0:
                self.detach(sid)
            else:
                self._forget(sid, job)
                self._quietly(lambda job=job: job.stop(reason))
        with contextlib.suppress(redis.RedisError):
            self.redis.delete(keys.web(self.name))

    def listing(self) -> list[dict]:
        """Every live job of the cluster, for the teacher's view (``webapp.teacher``)."""
        ids = sorted(x.decode() for x in self.redis.smembers(keys.LIVE))
        pipe = self.redis.pipeline()
        for job_id in ids:
            pipe.hgetall(keys.job(job_id))
            pipe.lrange(keys.losses(job_id), 0, -1)
        answers = pipe.execute()
        rows, now = [], time.time()
        for job_id, record, losses in zip(ids, answers[::2], answers[1::2]):
            record = {k.decode(): v.decode() for k, v in record.items()}
            if not record:
                continue
            started = float(record.get("started") or now)
            rows.append({
                "job": job_id, "task": record.get("task"), "summary": record.get("summary"),
                "state": record.get("state"), "epoch": int(record.get("epoch", 0)),
                "epochs": json.loads(record["config"])["epochs"],
                "worker": record.get("worker", "waiting for a free worker"),
                "running_s": now - started, "losses": [float(x) for x in losses],
            })  # fmt: skip
        return rows

    def stop_job(self, job_id: str) -> bool:
        """The teacher's stop button: False when no such job is live."""
        job = self.find(job_id)
        if job is None or job.done:
            return False
        job.stop()
        return True

    def running(self) -> int:
        try:
            return self.redis.scard(keys.LIVE)
        except redis.RedisError:
            return 0

    def ended_before_start(self, job: RemoteJob, message: str) -> None:
        """A job cancelled while queued: no worker will ever report it, so we do."""
        self.watchdog.end(job.id, "stopped", message)

    @staticmethod
    def _quietly(action) -> None:
        try:
            action()
        except Exception as exc:
            log.warning("could not stop a job: %s", exc)
