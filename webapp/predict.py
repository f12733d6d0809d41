"""Ask the tab's network what a drawn digit is, and fetch validation images by index.

``predict`` answers ``{"ok": true, "probs": [10 floats]}`` with the current weights of
the tab's MNIST job, while it trains or after it ended (until the tab starts another).
``GET /datasets/<name>/test/images?indices=3,17`` returns those images' raw pixels
(one byte each, 784 per image) for the confusion matrix and the mistakes gallery.
"""

from __future__ import annotations

import numpy as np
from flask import Blueprint, abort, request
from flask import current_app as app

from bpnet.datasets import available_datasets, load_dataset
from bpnet.engine.predict import parse_pixels

from . import socketio
from .events import _refusal, answered

bp = Blueprint("images", __name__)

MAX_IMAGES = 144  # one request: at most a cell's 12 and the 12 mistakes, many times over
ONE_DAY = 24 * 3600


@socketio.on("predict")
@answered
def predict(data=None):
    pixels = parse_pixels(data)
    job = app.extensions["bpnet_jobs"].job(request.sid)  # running or ended: both answer
    if job is None:
        return _refusal("no network yet: press Start to train one, then draw")
    if job.config.task != "mnist":
        return _refusal(f"predict reads digits; this tab's job is a {job.config.task} job")
    if job.state == "failed":
        return _refusal(f"the job failed, so its network cannot answer: {job.message}")
    probs = job.predict(pixels)
    if probs is None:
        return _refusal("the network is not built yet; try again in a moment")
    if not np.all(np.isfinite(probs)):
        return _refusal("the network's outputs are not numbers (its training diverged)")
    return {"ok": True, "job": job.id, "probs": np.round(probs[0].astype(float), 5).tolist()}


@bp.get("/datasets/<name>/test/images")
def images(name: str):
    """Raw uint8 pixels of the test images at ``indices``, concatenated (N × 784 bytes)."""
    if not available_datasets().get(name, False):
        abort(404, f"no dataset {name[:40]!r} on this server")
    x_test, _ = load_dataset(name, "test")
    text = request.args.get("indices", "")
    try:
        indices = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        abort(
            400, f"indices must be comma-separated image numbers, e.g. 3,17,42; got {text[:40]!r}"
        )
    if not 1 <= len(indices) <= MAX_IMAGES:
        abort(400, f"ask for 1 to {MAX_IMAGES} images, e.g. indices=3,17; got {len(indices)}")
    if not all(0 <= i < len(x_test) for i in indices):
        abort(400, f"indices run from 0 to {len(x_test) - 1}")
    pixels = np.rint(x_test[indices] * 255).astype(np.uint8)
    response = app.response_class(pixels.tobytes(), mimetype="application/octet-stream")
    response.cache_control.max_age = ONE_DAY  # the test set never changes
    return response
