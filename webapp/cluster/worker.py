"""``bpnet worker --redis URL``: run queued training jobs in this process (or N of them).

Each process is an RQ ``SimpleWorker``: one job at a time, in the process itself (no fork
per job), so a SIGTERM reaches the running ``TrainingJob`` and ends it ``stopped`` at
once. The job itself runs in ``running.run_job``: events go to the tab through
Flask-SocketIO's Redis message queue, calls from web processes arrive on the job's control
channel (``keys.control``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import redis
from flask_socketio import SocketIO
from rq import Queue, SimpleWorker

from ..blas import BLAS_THREADS, limit_blas_threads
from . import keys
from .running import context

SHUT_DOWN = "the worker was shut down"


class Worker(SimpleWorker):
    """RQ's in-process worker, with SIGTERM/SIGINT ending the running job first."""

    # RQ waits ever longer between tries to reach a lost Redis (up to a minute), so a job
    # queued soon after Redis came back could wait that long: try every second instead
    exponential_backoff_factor = 1.0
    max_connection_wait_time = 1.0
    told_to_stop = False  # by SIGTERM/SIGINT: the only reason ``work`` may return

    def request_stop(self, signum, frame):
        self.told_to_stop = True
        job = context.current
        if job is not None and not job.done:
            job.stop(SHUT_DOWN)
        super().request_stop(signum, frame)


def work(url: str) -> None:
    """Run one worker process until SIGTERM/SIGINT; carry on by itself after Redis was
    away (RQ gives up when Redis vanishes under a job: we start it again)."""
    # one BLAS thread, as in the web process: N processes would otherwise run N² threads,
    # and a step on a busy machine (and so Stop) could take seconds (the user's own
    # settings win)
    if not any(name in os.environ for name in BLAS_THREADS):
        limit_blas_threads(1)
    context.redis = redis.Redis.from_url(url)
    context.socketio = SocketIO(message_queue=url)  # write-only: emits through Redis
    context.name = keys.this_process()
    print(f"bpnet worker {context.name}: waiting for jobs on {_safe(url)}", flush=True)
    stopping = threading.Event()
    while not stopping.is_set():
        worker = None
        try:
            queue = Queue(keys.QUEUE, connection=context.redis)
            worker = Worker([queue], connection=context.redis)
            worker.work(logging_level="WARNING")
            why = "RQ's worker loop gave up"
        except Exception as exc:  # RQ gives up in other ways when Redis vanishes
            why = f"{type(exc).__name__}: {exc}"
        # RQ also *returns* when it gives up: a job's end it could not write while Redis
        # was away, with Redis back in time for its own farewell (teardown). Returning
        # then would end the process, and no job would be picked up again
        if worker is not None and worker.told_to_stop:
            return
        if worker is not None and worker.pubsub_thread is not None:
            worker.pubsub_thread.stop()  # its unsubscribe failed without Redis: no leak
        print(f"bpnet worker {context.name}: lost Redis ({why}); retrying", flush=True)
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
    children: list[subprocess.Popen] = [subprocess.Popen(command) for _ in range(processes)]
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
                children[i] = subprocess.Popen(command)
        stopping.wait(0.5)
    for child in children:
        child.wait()
    return 0


def _safe(url: str) -> str:
    """The URL without its password, for the log."""
    head, at, tail = url.rpartition("@")
    return f"{head.split(':')[0]}:…@{tail}" if at else url
