"""``attach``: a page that comes back (reload, reconnect, page switch) takes over its job.

The page presents the job's id (the id is the capability, as for downloads); the answer
holds the whole record so far, and the job's events go to that connection from then on.
A job is shown by one connection at a time: the newest wins and the old one is told.
"""

from __future__ import annotations

from flask import request

from bpnet.engine import as_dict

from . import socketio
from .events import _kind, _refusal, answered, manager


@socketio.on("attach")
@answered
def attach(data=None):
    """Take over a job by its id, after a reload or a reconnect; see docs/protocol.md."""
    if not isinstance(data, dict) or not isinstance(data.get("job"), str):
        return _refusal(f"attach needs {{job: id}}, got {_kind(data)}", "job")
    extra = next((name for name in data if name != "job"), None)
    if extra is not None:
        return _refusal(f"unknown field {extra!r}; attach takes only job", extra)
    found = manager().attach(request.sid, data["job"])
    if found is None:
        return _refusal(
            "that job is not on this server any more: it ended, its page was away longer "
            "than the grace period, or the id is wrong. Press Start to train again",
            "job",
        )
    job, dataset, history, picture, previous = found
    if previous is not None:
        socketio.emit(
            "detached",
            {"job": job.id, "message": "this run is now shown in another tab or window"},
            to=previous,
        )
    return {
        "ok": True, "job": job.id, "state": job.state, "message": job.message,
        "config": as_dict(job.config), "dataset": dataset,
        "history": history, "picture": picture,
    }  # fmt: skip
