"""Download a job's trained weights as ``.npz`` with PyTorch's key names.

The page links to ``/jobs/<job id>/weights.npz``; the job id (random, known only to the
tab that started the job) is what grants access. The file is built whole in memory
before a byte is sent, so a download is never half a model.
"""

from __future__ import annotations

import io

import numpy as np
from flask import Blueprint, abort, current_app, send_file

bp = Blueprint("downloads", __name__)


@bp.get("/jobs/<job_id>/weights.npz")
def weights(job_id: str):
    job = current_app.extensions["bpnet_jobs"].find(job_id)
    if job is None:
        abort(404, "no such job: it ended, or the tab that started it was closed")
    state = job.weights()
    if state is None:
        abort(409, "the network is not built yet; try again in a moment")
    buffer = io.BytesIO()
    np.savez(buffer, **state)
    buffer.seek(0)
    name = f"bpnet-{job.config.task}-{job.id}.npz"
    return send_file(
        buffer, mimetype="application/octet-stream", as_attachment=True, download_name=name
    )
