"""The Redis names class mode uses, in one place (docs/protocol.md lists them).

A job's record is a hash; the cluster-wide count of live jobs is a set; a worker proves
it is alive by refreshing a key with a short time-to-live; controls travel on a per-job
pub/sub channel and answers come back on a one-off list read with BLPOP.
"""

from __future__ import annotations

import inspect
import os
import pickle
import socket

from bpnet.engine import TrainingJob

from ..teacher import LOSS_POINTS  # train losses kept per job for the teacher's sparkline

QUEUE = "bpnet"  # the RQ queue name
LIVE = "bpnet:live"  # set of job ids queued or running, cluster-wide (--max-jobs counts it)

HEARTBEAT_EVERY = 1.0  # seconds between a worker's heartbeats for its job
HEARTBEAT_TTL = 5  # seconds a heartbeat lasts: a killed worker is noticed this late at most
WATCH_EVERY = 1.0  # seconds between two rounds of a web process's watchdog
OUTAGE_LIMIT = 8.0  # seconds without Redis before a job is given up on both sides
REPLY_TIMEOUT = 15.0  # seconds a web process waits for a worker's answer
WEB_TTL = 5  # seconds a web process's liveness key lasts (refreshed every WATCH_EVERY)
RECORD_TTL = 24 * 3600  # a job's record outlives the job by this much at most

DONE = ("finished", "stopped", "failed")
__all__ = ["LOSS_POINTS"]  # re-exported for the worker


def job(job_id: str) -> str:
    """Hash: config, task, summary, state, message, epoch, epochs, worker, started, and
    the tab holding the job: ``tab`` (its sid), ``web`` (its web process), ``grace``, and
    ``away_since`` while no tab holds it."""
    return f"bpnet:job:{job_id}"


def losses(job_id: str) -> str:
    """List: the last ``LOSS_POINTS`` epoch train losses."""
    return f"bpnet:losses:{job_id}"


def alive(job_id: str) -> str:
    """String with a TTL, refreshed by the worker running the job."""
    return f"bpnet:alive:{job_id}"


def claim(job_id: str) -> str:
    """Set once (NX): by the worker that starts the job, or by a web process that
    cancels it before any worker did; whoever sets it first wins."""
    return f"bpnet:claim:{job_id}"


def control(job_id: str) -> str:
    """Pub/sub channel: calls for the job's worker."""
    return f"bpnet:control:{job_id}"


def result(job_id: str) -> str:
    """What the ended job leaves (``worker.Remains``): weights, description, history,
    dataset event, for downloads, ``predict`` and ``attach`` after the worker moved on."""
    return f"bpnet:result:{job_id}"


def reply(request_id: str) -> str:
    return f"bpnet:reply:{request_id}"


def web(name: str) -> str:
    """String with a TTL, refreshed by the web process ``name`` (``host:pid``) while it
    runs: a worker whose job's tab was on a web process that vanished lets the grace
    period run, as for a closed tab."""
    return f"bpnet:web:{name}"


def this_process() -> str:
    """``host:pid``: how a worker or a web process is named in records and events."""
    return f"{socket.gethostname()}:{os.getpid()}"


# Calls cross Redis pickled: the payloads hold numpy arrays (predict's pixels, weights),
# and Redis is the cluster's own trusted store (RQ pickles its jobs there too).
dumps, loads = pickle.dumps, pickle.loads

# The TrainingJob methods a web process may call on a job that runs on a worker: every
# public method of the class but ``run`` (the worker's own), read from the class itself, so
# a method added to TrainingJob works across processes with no change here. Every call is
# answered: the return value, or the exception, raised again on the web side.
CALLS = frozenset(
    name
    for name, member in vars(TrainingJob).items()
    if inspect.isfunction(member) and not name.startswith("_") and name != "run"
)
