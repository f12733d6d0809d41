"""The job manager of a web process in class mode: jobs are queued for worker processes.

``RemoteJobManager`` has ``JobManager``'s interface, so the socket handlers do not know
which mode they run in. Its jobs are ``RemoteJob`` proxies that forward the calls listed
in ``keys.CALLS`` to the worker running the job. A watchdog thread tells a tab when the
worker of its job died, or when Redis has been away too long.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid

import redis
from rq import Queue

from bpnet.engine import parse_config
from bpnet.engine.config import as_dict

from ..jobs import ServerBusy
from ..teacher import summary
from . import keys
from .worker import run_job

log = logging.getLogger(__name__)

WORKER_DIED = "the worker running this job stopped"
QUEUE_DOWN = "the job queue is unavailable, try again shortly"
ENDED = (
    "the job ended and its worker has moved on, so its network cannot answer here; "
    "download its weights, or press Start to train again"
)


class QueueUnavailable(ServerBusy):
    """Redis cannot be reached; ``start`` answers with this message."""


class RemoteJob:
    """A job that runs on some worker: ``id`` and ``config`` are here, the rest is asked
    of Redis (state, message) or of the worker (the methods in ``keys.CALLS``)."""

    def __init__(self, manager: RemoteJobManager, job_id: str, config):
        self._manager, self.id, self.config = manager, job_id, config
        self._known = ("created", "")  # the last state read, for when Redis is away

    def _read(self) -> tuple[str, str]:
        try:
            state, message = self._manager.redis.hmget(keys.job(self.id), "state", "message")
        except redis.RedisError:
            return self._known
        if state is not None:
            self._known = (state.decode(), (message or b"").decode())
        return self._known

    @property
    def state(self) -> str:
        return self._read()[0]

    @property
    def message(self) -> str:
        return self._read()[1]

    @property
    def done(self) -> bool:
        return self.state in keys.DONE

    def stop(self, *args, **kwargs) -> None:
        """Cancel the job if no worker took it yet; otherwise ask its worker to stop it."""
        r = self._manager.redis
        try:
            if r.set(keys.claim(self.id), "cancelled", nx=True, ex=keys.RECORD_TTL):
                self._manager.ended_before_start(self, "stopped before a worker took it")
                return
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        self._call("stop", *args, **kwargs)

    def __getattr__(self, name: str):
        if name not in keys.CALLS:
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self._call(name, *args, **kwargs)

        call.__name__ = name
        return call

    def _call(self, method: str, *args, **kwargs):
        """Send ``method(*args, **kwargs)`` to the job's worker; wait for the answer if
        ``keys.CALLS`` says the caller needs one."""
        r = self._manager.redis
        waits = keys.CALLS[method]
        if self.done:
            if method in keys.KEPT_AFTER_END:
                return self._kept(method)
            if waits:
                raise RuntimeError(ENDED)
            return None
        request_id = uuid.uuid4().hex if waits else None
        request = {"method": method, "args": args, "kwargs": kwargs, "reply": request_id}
        try:
            if waits and r.hget(keys.job(self.id), "worker") is None:
                raise RuntimeError("the job is waiting for a free worker; try again in a moment")
            r.publish(keys.control(self.id), keys.dumps(request))
            if not waits:
                return None
            answer = r.blpop([keys.reply(request_id)], timeout=keys.REPLY_TIMEOUT)
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        if answer is None:
            raise RuntimeError(f"the worker running this job did not answer {method} in time")
        outcome, value = keys.loads(answer[1])
        if outcome == "error":
            raise value
        return value

    def _kept(self, method: str):
        try:
            kept = self._manager.redis.get(keys.result(self.id))
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        return None if kept is None else keys.loads(kept)[method]


class RemoteJobManager:
    """Start jobs on the cluster's queue and find them again; same interface as
    ``webapp.jobs.JobManager``."""

    def __init__(self, socketio, url: str, max_jobs: int, relay=None):
        self.socketio = socketio
        self.relay = relay  # our end of the message queue (None in tests without one)
        self.max_jobs = max_jobs
        self.redis = redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=2)
        self.queue = Queue(keys.QUEUE, connection=self.redis)
        self.name = keys.this_process()
        self._jobs: dict[str, RemoteJob] = {}
        self._tabs: dict[str, str] = {}  # job id -> sid, for the watchdog
        self._lock = threading.Lock()
        self._watchdog = threading.Thread(target=self._watch, name="bpnet-watchdog", daemon=True)
        self._watchdog.start()

    def start(self, sid: str, config) -> RemoteJob:
        """Queue a job for ``sid`` (replacing the one it had) and put the tab in its room.

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
            self._record(job)
            self.socketio.server.enter_room(sid, job.id, namespace="/")
            self.queue.enqueue(
                run_job, job.id, as_dict(config), job_id=f"bpnet-{job.id}",
                job_timeout=-1, result_ttl=0, failure_ttl=3600,
            )  # fmt: skip
        except redis.RedisError as exc:
            log.warning("start refused, Redis unreachable: %s", exc)
            raise QueueUnavailable(QUEUE_DOWN) from exc
        with self._lock:
            self._jobs[sid] = job
            self._tabs[job.id] = sid
        return job

    def _record(self, job: RemoteJob) -> None:
        """The job's record: what the worker needs to know it, the teacher's view to list
        it, and any web process to find it (a download, a tab that moved)."""
        fields = {
            "config": json.dumps(as_dict(job.config)), "task": job.config.task,
            "summary": summary(job.config), "state": "queued",
            "message": "waiting for a free worker", "created": time.time(), "web": self.name,
        }  # fmt: skip
        pipe = self.redis.pipeline()
        pipe.hset(keys.job(job.id), mapping=fields)
        pipe.expire(keys.job(job.id), keys.RECORD_TTL)
        pipe.execute()

    def job(self, sid: str) -> RemoteJob | None:
        return self._jobs.get(sid)

    def network(self, sid: str) -> RemoteJob | None:
        return self._jobs.get(sid)

    def find(self, job_id: str) -> RemoteJob | None:
        """The job with this id, started by any web process of the cluster."""
        local = next((job for job in list(self._jobs.values()) if job.id == job_id), None)
        if local is not None:
            return local
        try:
            config = self.redis.hget(keys.job(job_id), "config")
        except redis.RedisError:
            return None
        if config is None:
            return None
        return RemoteJob(self, job_id, parse_config(json.loads(config)))

    def ended(self, job_id: str) -> tuple[str, str] | None:
        job = self.find(job_id)
        if job is None or not job.done:
            return None
        return job.state, job.message

    def stop(self, sid: str, wait: float = 0.0) -> None:
        with self._lock:
            job = self._jobs.pop(sid, None)
        if job is not None:
            self._quietly(job.stop)

    def detach(self, sid: str) -> None:
        """A tab's connection ended. Class mode has no grace period yet: stop its job."""
        self.stop(sid)

    def attach(self, sid: str, job_id: str):
        """Class mode cannot hand a job to another connection yet: no such job here."""
        return None

    def stop_all(self, wait: float = 5.0, reason: str = "") -> None:
        with self._lock:
            jobs = list(self._jobs.values())
            self._jobs.clear()
        for job in jobs:
            self._quietly(lambda job=job: job.stop(reason))

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
        self._end(job.id, "stopped", message)

    def _end(self, job_id: str, state: str, message: str, local_only: bool = False) -> None:
        """Write the job's end into its record (if Redis answers) and tell its tab."""
        try:
            pipe = self.redis.pipeline()
            pipe.hset(keys.job(job_id), mapping={"state": state, "message": message})
            pipe.srem(keys.LIVE, job_id)
            pipe.expire(keys.job(job_id), 3600)
            pipe.execute()
        except redis.RedisError:
            pass
        with self._lock:
            sid = self._tabs.pop(job_id, None)
        if sid is not None:
            event = {"job": job_id, "time": time.time(), "state": state, "message": message}
            # straight to the tab from this process: the message queue may be the thing down
            self.socketio.emit("status", event, to=sid, ignore_queue=True)

    def _watch(self) -> None:
        """Every ``WATCH_EVERY`` s: a started job whose worker's heartbeat expired failed;
        after ``OUTAGE_LIMIT`` s without Redis, every watched job is given up."""
        last_ok = time.monotonic()
        while True:
            time.sleep(keys.WATCH_EVERY)
            with self._lock:
                watched = list(self._tabs)
            try:
                for job_id in watched:
                    self._check(job_id)
                last_ok = time.monotonic()
            except redis.RedisError:
                if time.monotonic() - last_ok > keys.OUTAGE_LIMIT:
                    for job_id in watched:
                        self._end(
                            job_id, "failed", "lost contact with the job queue: " + QUEUE_DOWN
                        )
            except Exception:
                log.exception("the watchdog could not check the jobs")

    def _check(self, job_id: str) -> None:
        pipe = self.redis.pipeline()
        pipe.hmget(keys.job(job_id), "state", "worker")
        pipe.exists(keys.alive(job_id))
        (state, worker), alive = pipe.execute()
        state = state.decode() if state else None
        if state is None or state in keys.DONE:
            with self._lock:
                self._tabs.pop(job_id, None)  # ended: its worker said so
        elif worker is not None and not alive:
            log.warning("job %s: its worker %s stopped beating", job_id, worker.decode())
            self._end(job_id, "failed", WORKER_DIED)

    @staticmethod
    def _quietly(action) -> None:
        try:
            action()
        except Exception as exc:
            log.warning("could not stop a job: %s", exc)
