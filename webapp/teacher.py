"""The teacher's view: every running job on this server or cluster, with a stop button.

``/class?token=…`` is the page; ``/class/jobs`` lists the jobs as JSON and
``/class/jobs/<id>/stop`` stops one, both with the token in the ``X-Teacher-Token``
header. The token is printed once at start (or given with ``--teacher-token``) and
compared in constant time.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import deque

from flask import Blueprint, abort, current_app, render_template, request

from bpnet.engine.config import as_dict

SUMMARY_FIELDS = ("expression", "dataset", "architecture", "hidden", "activation", "optimizer",
                  "lr", "batch_size", "epochs")  # fmt: skip
LOSS_POINTS = 60  # train losses kept per job for the sparkline


def summary(config) -> str:
    """One line: ``curve sin(x) · hidden [64, 64] · tanh · adam · lr 0.01 · 500 epochs``."""
    data = as_dict(config)
    parts = [data["task"]]
    for field in SUMMARY_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        if field in ("expression", "dataset", "architecture", "activation", "optimizer"):
            parts.append(str(value))
        elif field == "epochs":
            parts.append(f"{value} epochs")
        else:
            parts.append(f"{field.replace('_', ' ')} {value}")
    return " · ".join(parts)


def token_ok(given: str | None, expected: str | None) -> bool:
    """Constant-time comparison; no configured token means no teacher's view."""
    if not expected or not given:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


class Roster:
    """Embedded mode's list of running jobs for the teacher: fed by the job manager with
    every event it forwards, it keeps each job's epoch and last train losses."""

    def __init__(self):
        self._rows: dict[str, dict] = {}
        self._lock = threading.Lock()

    def note(self, job, name: str, event: dict) -> None:
        with self._lock:
            row = self._rows.get(job.id)
            if row is None:
                if job.done:
                    return
                row = self._rows[job.id] = {
                    "job": job.id, "task": job.config.task, "summary": summary(job.config),
                    "worker": "this server", "started": time.time(), "epoch": 0,
                    "epochs": job.config.epochs, "losses": deque(maxlen=LOSS_POINTS),
                    "state": "running", "_job": job,
                }  # fmt: skip
            if name == "epoch":
                row["epoch"] = event["epoch"]
                row["losses"].append(event["train_loss"])
            elif name == "status":
                row["state"] = event["state"]
                if event["state"] in ("finished", "stopped", "failed"):
                    del self._rows[job.id]

    def listing(self) -> list[dict]:
        with self._lock:
            rows = [dict(row) for row in self._rows.values()]
        for row in rows:
            row.pop("_job")
            row["losses"] = list(row["losses"])
            row["running_s"] = time.time() - row.pop("started")
        return rows

    def stop(self, job_id: str) -> bool:
        with self._lock:
            row = self._rows.get(job_id)
        if row is None:
            return False
        row["_job"].stop()
        return True


# --- the pages ---------------------------------------------------------------------
bp = Blueprint("teacher", __name__)

REFUSED = (
    "the teacher's view needs its token: open the /class?token=… link that the server "
    "printed when it started (or the one given with --teacher-token)"
)


def _allowed(given: str | None) -> bool:
    return token_ok(given, current_app.config["TEACHER_TOKEN"])


@bp.get("/class")
def page():
    if not _allowed(request.args.get("token")):
        abort(403, REFUSED)
    return render_template("class.html")


@bp.get("/class/jobs")
def jobs():
    if not _allowed(request.headers.get("X-Teacher-Token")):
        abort(403, REFUSED)
    return {"jobs": current_app.extensions["bpnet_jobs"].listing()}


@bp.post("/class/jobs/<job_id>/stop")
def stop(job_id: str):
    if not _allowed(request.headers.get("X-Teacher-Token")):
        abort(403, REFUSED)
    if not current_app.extensions["bpnet_jobs"].stop_job(job_id):
        abort(404, "no running job with that id (it may have just ended)")
    return {"ok": True}
