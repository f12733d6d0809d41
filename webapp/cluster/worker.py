"""``bpnet worker --redis URL``: run queued training jobs in this process (or N of them).

Each process is an RQ ``SimpleWorker``: one job at a time, in the process itself (no fork
per job), so a SIGTERM reaches the running ``TrainingJob`` and ends it ``stopped`` at
once. Events go to the tab's room through Flask-SocketIO's Redis message queue; calls
from web processes arrive on the job's control channel (``keys.control``).
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import sys
import threading
import time

import redis
from flask_socketio import SocketIO
from rq import Queue, SimpleWorker

from bpnet.engine import TrainingJob, parse_config

from . import keys, route

log = logging.getLogger(__name__)

SHUT_DOWN = "the worker was shut down"
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")
LOST_QUEUE = "lost contact with the job queue, so the job was stopped"


class _Context:
    """What the job function needs from the process that runs it (set by ``work``)."""

    redis: redis.Redis
    socketio: SocketIO
    name: str = keys.this_process()
    current: TrainingJob | None = None
    stop_reason: str | None = None


context = _Context()


def run_job(job_id: str, config: dict) -> str:
    """The RQ job: train ``config`` as job ``job_id`` for the tab its record names."""
    r = context.redis
    if not r.set(keys.claim(job_id), context.name, nx=True, ex=keys.RECORD_TTL):
        return "cancelled"  # a web process stopped it before any worker took it
    job = TrainingJob(parse_config(config), job_id=job_id)
    context.current, context.stop_reason = job, None
    calls = r.pubsub(ignore_subscribe_messages=True)
    calls.subscribe(keys.control(job_id))  # before the job is seen running: no call is lost
    r.set(keys.alive(job_id), context.name, ex=keys.HEARTBEAT_TTL)
    pipe = r.pipeline()  # one transaction with attach's: the tab read here is current
    pipe.hset(keys.job(job_id), mapping={"worker": context.name, "started": time.time()})
    pipe.hmget(keys.job(job_id), "tab", "web", "grace", "away_since")
    sid, web, grace, away_since = (x.decode() if x else "" for x in pipe.execute()[1])
    tab = route.TabRoute(sid or None, web, float(grace or 0))
    if not sid:
        tab.away_since = float(away_since or time.time())  # its tab left while it was queued
    done = threading.Event()
    threads = [
        threading.Thread(target=_heartbeat, args=(job, tab, done), daemon=True),
        threading.Thread(target=_answer_calls, args=(job, tab, calls, done), daemon=True),
    ]
    for thread in threads:
        thread.start()
    try:
        return job.run(_Emitter(job, tab))
    finally:
        done.set()
        context.current = None
        for thread in threads:
            thread.join(2.0)


class _Emitter:
    """``emit`` for the job: its events to the tab that holds it (held while none does,
    as in threads mode), and the job's record kept up to date for the watchdog and the
    teacher's view. Redis trouble never breaks the job."""

    def __init__(self, job: TrainingJob, tab: route.TabRoute):
        self.job, self.job_id, self.tab = job, job.id, tab
        self.failing = False  # one line in the log per outage, not one per event

    def __call__(self, event: dict) -> None:
        name = event.pop("event")
        try:
            if name == "dataset":
                event["worker"] = context.name
            elif name == "status":
                if event["state"] == "stopped" and context.stop_reason:
                    event["message"] = context.stop_reason
                self._record(event)
            elif name == "epoch":
                self._epoch(event)
            with self.tab.lock:
                if name == "dataset":
                    self.tab.dataset = event
                sid = self.tab.sid
                if sid is None:
                    return self.tab.hold(event)
                self.tab.release_into(name, event)
            context.socketio.emit(name, event, to=sid)
            self.failing = False
        except redis.RedisError as exc:
            if not self.failing:
                log.warning("job %s: cannot report to Redis: %s", self.job_id, exc)
            self.failing = True

    def _record(self, event: dict) -> None:
        fields = {"state": event["state"], "message": event["message"]}
        pipe = context.redis.pipeline()
        if event["state"] in keys.DONE:  # the remains first: whoever sees the end finds them
            pipe.set(keys.result(self.job_id), _remains(self.job, self.tab), ex=3600)
        pipe.hset(keys.job(self.job_id), mapping=fields)
        if event["state"] in keys.DONE:
            pipe.srem(keys.LIVE, self.job_id)
            pipe.delete(keys.alive(self.job_id))
            for key in (keys.job(self.job_id), keys.losses(self.job_id)):
                pipe.expire(key, 3600)
        pipe.execute()

    def _epoch(self, event: dict) -> None:
        pipe = context.redis.pipeline()
        pipe.hset(
            keys.job(self.job_id), mapping={"epoch": event["epoch"], "epochs": event["epochs"]}
        )
        pipe.rpush(keys.losses(self.job_id), float(event["train_loss"]))
        pipe.ltrim(keys.losses(self.job_id), -keys.LOSS_POINTS, -1)
        pipe.execute()


def _heartbeat(job: TrainingJob, tab: route.TabRoute, done: threading.Event) -> None:
    """Refresh the job's ``alive`` key, and stop the job once no live tab held it for the
    grace period. A job nobody can see or control any more is stopped too: Redis away for
    ``OUTAGE_LIMIT`` seconds, or back but without the job's record (restarted empty), or
    with a record that a web process ended (it gave up on the job during an outage)."""
    last_ok = time.monotonic()
    while not done.wait(keys.HEARTBEAT_EVERY):
        try:
            pipe = context.redis.pipeline()
            pipe.set(keys.alive(job.id), context.name, ex=keys.HEARTBEAT_TTL)
            pipe.exists(keys.web(tab.web))
            pipe.hget(keys.job(job.id), "state")
            _, web_alive, state = pipe.execute()
            last_ok = time.monotonic()
        except redis.RedisError:
            if time.monotonic() - last_ok > keys.OUTAGE_LIMIT and not job.done:
                context.stop_reason = LOST_QUEUE
                job.stop()
            continue
        if job.done:
            continue
        if state is None or state.decode() in keys.DONE:
            context.stop_reason = LOST_QUEUE
            job.stop()
        elif tab.overdue(bool(web_alive), time.time()):
            _note_away(job.id, tab)
            job.stop()  # as a closed tab's job in threads mode, with its usual message


def _note_away(job_id: str, tab: route.TabRoute) -> None:
    """Say in the record that no tab holds the job, and since when: its ``attach`` window
    closes with the grace period, as in threads mode, though its remains are kept longer."""
    with contextlib.suppress(redis.RedisError):
        pipe = context.redis.pipeline()
        pipe.hset(keys.job(job_id), "tab", "")
        pipe.hsetnx(keys.job(job_id), "away_since", tab.away_since or time.time())
        pipe.execute()


def _answer_calls(job: TrainingJob, tab: route.TabRoute, calls, done: threading.Event) -> None:
    """Run the calls web processes send for this job and answer each."""
    while not done.is_set():
        try:
            message = calls.get_message(timeout=0.5)
        except redis.RedisError:
            time.sleep(0.5)
            continue
        if message is None:
            continue
        request = keys.loads(message["data"])
        method, reply = request["method"], request["reply"]
        try:
            if method in route.ROUTE_CALLS:
                value = route.ROUTE_CALLS[method](job, tab, *request["args"])
            elif method in keys.CALLS:
                value = getattr(job, method)(*request["args"], **request["kwargs"])
            else:
                raise AttributeError(f"this worker's jobs have no {method!r}")
            answer = ("ok", value)
        except Exception as exc:
            answer = ("error", exc)
        try:
            payload = keys.dumps(answer)
        except Exception as exc:  # an exception that cannot be pickled
            payload = keys.dumps(("error", RuntimeError(f"{type(exc).__name__}: {exc}")))
        try:
            pipe = context.redis.pipeline()
            pipe.lpush(keys.reply(reply), payload)
            pipe.expire(keys.reply(reply), 60)
            pipe.execute()
        except redis.RedisError as exc:
            log.warning("job %s: cannot answer %s: %s", job.id, method, exc)
    calls.close()


def _remains(job: TrainingJob, tab: route.TabRoute) -> bytes:
    """The ended job's ``Remains``, pickled, kept for an hour: the download links,
    ``predict`` and a tab that attaches outlive the worker's interest in the job."""
    try:
        return keys.dumps(route.Remains(job, tab.dataset))
    except Exception as exc:  # the end is still reported; only its remains are lost
        log.warning("job %s: could not keep its weights: %s", job.id, exc)
        return keys.dumps(None)


class Worker(SimpleWorker):
    """RQ's in-process worker, with SIGTERM/SIGINT ending the running job first."""

    # RQ waits ever longer between tries to reach a lost Redis (up to a minute), so a job
    # queued soon after Redis came back could wait that long: try every second instead
    exponential_backoff_factor = 1.0
    max_connection_wait_time = 1.0

    def request_stop(self, signum, frame):
        job = context.current
        if job is not None and not job.done:
            context.stop_reason = SHUT_DOWN
            job.stop()
        super().request_stop(signum, frame)


def work(url: str) -> None:
    """Run one worker process until SIGTERM/SIGINT; carry on by itself after Redis was
    away (RQ gives up when Redis vanishes under a job: we start it again)."""
    context.redis = redis.Redis.from_url(url)
    context.socketio = SocketIO(message_queue=url)  # write-only: emits through Redis
    context.name = keys.this_process()
    print(f"bpnet worker {context.name}: waiting for jobs on {_safe(url)}", flush=True)
    stopping = threading.Event()
    while not stopping.is_set():
        try:
            queue = Queue(keys.QUEUE, connection=context.redis)
            Worker([queue], connection=context.redis).work(logging_level="WARNING")
            return
        except Exception as exc:  # RQ gives up in several ways when Redis vanishes
            print(f"bpnet worker {context.name}: lost Redis ({type(exc).__name__}: {exc}); "
                  "retrying", flush=True)  # fmt: skip
            # rq's handlers refer to the worker that gave up; until the next one, a
            # signal simply ends the process
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, lambda *_: stopping.set())
            stopping.wait(1.0)


def serve(url: str, processes: int = 1) -> int:
    """``bpnet worker``: one process works here; more start as children and are restarted
    if they die (Redis gone, say) until this one is told to stop."""
    if processes <= 1:
        work(url)
        return 0
    command = [sys.executable, "-m", "bpnet", "worker", "--redis", url, "--processes", "1"]
    # one process per core: each with one BLAS thread, or N processes would run N² threads
    # (the user's own settings win)
    env = {**{name: "1" for name in BLAS_THREADS}, **os.environ}
    children: list[subprocess.Popen] = [
        subprocess.Popen(command, env=env) for _ in range(processes)
    ]
    stopping = threading.Event()

    def stop(signum, frame):
        stopping.set()
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    while not stopping.is_set():
        for i, child in enumerate(children):
            if child.poll() is not None and not stopping.is_set():
                time.sleep(1.0)  # no restart storm while Redis is away
                children[i] = subprocess.Popen(command, env=env)
        stopping.wait(0.5)
    for child in children:
        child.wait()
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    head, at, tail = url.rpartition("@")
    return f"{head.split(':')[0]}:…@{tail}" if at else url
