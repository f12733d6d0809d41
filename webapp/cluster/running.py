"""One training job on a worker: the RQ job function and what runs beside the job.

``run_job`` trains the job and sends its events to the tab that holds it (``route``);
beside it, a heartbeat thread proves the worker alive and ends the job when nobody can
see it any more, and a calls thread answers the web processes' calls (``keys.CALLS``).
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time

import redis
from flask_socketio import SocketIO

from bpnet.engine import TrainingJob, parse_config

from . import keys, route

log = logging.getLogger(__name__)

LOST_QUEUE = "lost contact with the job queue, so the job was stopped"


class _Context:
    """What the job function needs from the process that runs it (set by ``work``)."""

    redis: redis.Redis
    socketio: SocketIO
    name: str = keys.this_process()
    current: TrainingJob | None = None


context = _Context()


def run_job(job_id: str, config: dict) -> str:
    """The RQ job: train ``config`` as job ``job_id`` for the tab its record names."""
    r = context.redis
    if not r.set(keys.claim(job_id), context.name, nx=True, ex=keys.RECORD_TTL):
        return "cancelled"  # a web process stopped it before any worker took it
    job = TrainingJob(parse_config(config), job_id=job_id)
    context.current = job
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
                job.stop(LOST_QUEUE)
            continue
        if job.done:
            continue
        if state is None or state.decode() in keys.DONE:
            job.stop(LOST_QUEUE)
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
