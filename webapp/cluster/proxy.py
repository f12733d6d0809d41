"""``RemoteJob``: a web process's handle on a job that runs on some worker.

It answers as a ``TrainingJob`` does: ``id`` and ``config`` are here, ``state`` and
``message`` are read from the job's record in Redis, and every method in ``keys.CALLS``
(with the tab calls of ``route.ROUTE_CALLS``) goes to the job's worker on its control
channel and waits for the answer. Once the job has ended, its ``Remains`` answer instead.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

import redis

from bpnet.engine.history import History

from ..jobs import ServerBusy
from . import keys, route

if TYPE_CHECKING:
    from .remote import RemoteJobManager

QUEUE_DOWN = "the job queue is unavailable, try again shortly"
ENDED = (
    "the job ended and what it left has expired, so its network cannot answer here; "
    "press Start to train again"
)
QUEUED = "the job is waiting for a free worker; try again in a moment"


class QueueUnavailable(ServerBusy):
    """Redis cannot be reached; ``start`` answers with this message."""


class Queued(RuntimeError):
    """No worker has taken the job yet, so none can answer a call."""


class RemoteJob:
    """A job that runs on some worker; see the module's docstring."""

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

    @property
    def history(self) -> route.HistoryCopy:
        """The job's record of every epoch so far (``snapshot``, ``picture``, ``to_csv``)."""
        try:
            return self._call("history")
        except Queued:
            return route.HistoryCopy(History().snapshot(), None)  # no epoch yet

    def stop(self, *args, **kwargs) -> None:
        """Cancel the job if no worker took it yet; otherwise ask its worker to stop it
        (nothing to do once it has ended)."""
        r = self._manager.redis
        try:
            if r.set(keys.claim(self.id), "cancelled", nx=True, ex=keys.RECORD_TTL):
                self._manager.ended_before_start(self, "stopped before a worker took it")
                return
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        try:
            self._call("stop", *args, **kwargs)
        except RuntimeError:
            if not self.done:
                raise  # else it ended meanwhile: stopping it is done

    def __getattr__(self, name: str):
        if name not in keys.CALLS:
            raise AttributeError(name)

        def call(*args, **kwargs):
            return self._call(name, *args, **kwargs)

        call.__name__ = name
        return call

    def _call(self, method: str, *args, **kwargs):
        """``method(*args, **kwargs)`` on the job's worker (or its remains once it ended):
        the return value, or the exception raised there, raised again here."""
        if self.done:
            remains = self._manager.remains(self.id)
            answer = None if remains is None else getattr(remains, method, None)
            if answer is None:
                raise RuntimeError(ENDED)
            return answer(*args, **kwargs) if callable(answer) else answer
        r, request_id = self._manager.redis, uuid.uuid4().hex
        request = {"method": method, "args": args, "kwargs": kwargs, "reply": request_id}
        try:
            if r.hget(keys.job(self.id), "worker") is None:
                raise Queued(QUEUED)
            r.publish(keys.control(self.id), keys.dumps(request))
            answer = None
            for _ in range(int(keys.REPLY_TIMEOUT)):
                answer = r.blpop([keys.reply(request_id)], 1)
                if answer is not None or self.done:
                    break  # answered; or the job ended before it read the call
        except redis.RedisError as exc:
            raise RuntimeError(QUEUE_DOWN) from exc
        if answer is None:
            if self.done:  # its remains answer instead
                return self._call(method, *args, **kwargs)
            raise RuntimeError(f"the worker running this job did not answer {method} in time")
        outcome, value = keys.loads(answer[1])
        if outcome == "error":
            raise value
        return value
