"""Socket.IO events: validate what a tab asks, then start or signal its job.

Every handler answers through the acknowledgement: ``{"ok": true, …}`` or
``{"ok": false, "error": "…", "field": "…"}`` (docs/protocol.md). Handlers never train;
the job manager's background tasks do.
"""

from __future__ import annotations

import functools
import json
import logging

from flask import current_app, request

from bpnet.engine import ConfigError, parse_config

from . import socketio
from .jobs import JobManager, ServerBusy

log = logging.getLogger(__name__)


def manager() -> JobManager:
    return current_app.extensions["bpnet_jobs"]


def _refusal(error: str, field: str | None = None) -> dict:
    return {"ok": False, "error": error, "field": field}


def _kind(value) -> str:
    return "nothing" if value is None else type(value).__name__


def answered(handler):
    """Turn a ConfigError into a refusal, and any other error into one line in the log
    and a refusal, so that no client can break the server or its own connection."""

    @functools.wraps(handler)
    def wrapper(*args):
        try:
            size = len(json.dumps(args, default=str))
            limit = current_app.config["MAX_MESSAGE_BYTES"]
            if size > limit:
                return _refusal(f"message too large: {size} bytes; at most {limit} are allowed")
            if len(args) > 1:
                return _refusal(f"{handler.__name__} takes one object, got {len(args)} arguments")
            return handler(*args)
        except ConfigError as exc:
            return _refusal(exc.message, exc.field)
        except Exception as exc:
            log.error(
                "%s from %s failed: %s: %s", handler.__name__, request.sid, type(exc).__name__, exc
            )
            return _refusal(f"the server could not handle {handler.__name__}: {exc}")

    return wrapper


@socketio.on("disconnect")
def on_disconnect(reason=None):
    manager().detach(request.sid)  # stopped after the grace period unless a page attaches


@socketio.on("start")
@answered
def start(data=None):
    config = parse_config(data)
    try:
        job = manager().start(request.sid, config)
    except ServerBusy as exc:
        return _refusal(str(exc))
    if job.state == "queued":  # class mode, every worker busy: say so until one takes it
        return {"ok": True, "job": job.id, "state": "queued", "message": job.message}
    return {"ok": True, "job": job.id}


def _current_job():
    job = manager().job(request.sid)
    if job is None or job.done:
        return None
    return job


def _control(action: str):
    def handler(data=None):
        if data is not None and not isinstance(data, dict):
            return _refusal(f"{action} takes no payload (or {{}}), got {_kind(data)}")
        if data:
            field = next(iter(data))
            return _refusal(f"unknown field {field!r}; {action} takes no fields", field)
        job = _current_job()
        if job is None:
            return _refusal("no job is running")
        getattr(job, action)()
        return {"ok": True}

    handler.__name__ = action  # before wrapping: refusals and the log name the event
    socketio.on_event(action, answered(handler))


for _action in ("pause", "resume", "stop"):
    _control(_action)


@socketio.on("update")
@answered
def update(data=None):
    job = _current_job()
    if job is None:
        return _refusal("no job is running")
    return {"ok": True, **job.update(data)}


@socketio.on("validate")
@answered
def validate(data=None):
    """Check a formula while the user types, or a whole config (settings from a shared
    link): the same checks as ``start``, and nothing runs."""
    if not isinstance(data, dict):
        return _refusal(f"validate needs an object {{task, expression}}, got {_kind(data)}")
    parse_config(data)
    return {"ok": True}


@socketio.on("status")
@answered
def status(data=None):
    """Where is my job? Also answers a tab that reconnected with its old job id."""
    if data is not None and not isinstance(data, dict):
        return _refusal(f"status takes nothing or {{job: id}}, got {_kind(data)}")
    data = data or {}
    extra = next((name for name in data if name != "job"), None)
    if extra is not None:
        return _refusal(f"unknown field {extra!r}; status takes only job", extra)
    old_id = data.get("job")
    if old_id is not None and not isinstance(old_id, str):
        return _refusal(f"job must be a job id (text), got {_kind(old_id)}", "job")
    job = manager().job(request.sid)
    if job is not None:
        return {"ok": True, "job": job.id, "state": job.state, "message": job.message}
    if old_id is None:
        return {"ok": True, "job": None, "state": "idle", "message": "no job; press Start"}
    other = manager().find(old_id)
    if other is not None and not other.done:
        # The old connection dropped (the job waits for its page to attach for the grace
        # period, or the server has not noticed the drop yet), or another tab holds it.
        # Say so, and nothing of the job's progress.
        return {
            "ok": True, "job": old_id, "state": other.state,
            "message": "still running for another connection (this tab's, which dropped, or "
            "another tab's); attach to it with its id to watch it here, or press Start to "
            "train anew",
        }  # fmt: skip
    ended = manager().ended(old_id)
    if ended is not None:
        state, message = ended
        if state not in ("finished", "failed"):
            state, message = (
                "stopped",
                "the connection dropped, so the job was stopped; press Start to train again",
            )
        return {"ok": True, "job": old_id, "state": state, "message": message}
    return {
        "ok": True, "job": None, "state": "idle",
        "message": "that job is not on this server any more (it ended long ago, or the "
        "server restarted); press Start to train again",
    }  # fmt: skip
