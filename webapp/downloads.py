"""Download a job's trained weights as ``.npz`` with PyTorch's key names, and its history.

The page links to ``/jobs/<job id>/weights.npz`` and ``/jobs/<job id>/history.csv``;
the job id (random, known only to the tab that started the job) is what grants access. The
weights file also describes the network (``bpnet.load_model`` rebuilds it). It is written
whole before a byte is sent, so a download is never half a model.
"""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, send_file

from bpnet.model_io import save_model

bp = Blueprint("downloads", __name__)


@bp.get("/jobs/<job_id>/weights.npz")
def weights(job_id: str):
    job = current_app.extensions["bpnet_jobs"].find(job_id)
    if job is None:
        abort(404, "no such job: it ended, or the tab that started it was closed")
    state, description = job.weights(), job.model_info()
    if state is None or description is None:
        abort(409, "the network is not built yet; try again in a moment")
    with tempfile.TemporaryDirectory() as folder:  # save_model writes files atomically
        data = save_model(state, Path(folder) / "weights.npz", description).read_bytes()
    name = f"bpnet-{job.config.task}-{job.id}.npz"
    return send_file(
        io.BytesIO(data), mimetype="application/octet-stream", as_attachment=True,
        download_name=name,
    )  # fmt: skip


@bp.get("/jobs/<job_id>/history.csv")
def history(job_id: str):
    """Every epoch so far: epoch, train_loss, val_loss, val_accuracy, lr."""
    job = current_app.extensions["bpnet_jobs"].find(job_id)
    if job is None:
        abort(404, "no such job: it ended, or the tab that started it was closed")
    return Response(
        job.history.to_csv(),
        mimetype="text/csv",
        headers={
            "Content-Disposition": f"attachment; filename=bpnet-{job.config.task}-{job.id}.csv"
        },
    )
