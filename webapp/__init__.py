"""The live training dashboard: a Flask app with Flask-SocketIO.

``create_app`` builds the app (page routes in ``routes.py``, socket events in
``events.py``, a drawn digit's ``predict`` and image pixels in ``predict.py``);
``socketio`` is the one Socket.IO server, initialised in the factory.
Training runs in background threads owned by the job manager (``jobs.py``).
"""

from __future__ import annotations

from pathlib import Path

from flask import Flask
from flask_socketio import SocketIO

from .origins import same_origin_or

socketio = SocketIO()

_HERE = Path(__file__).resolve().parent


def _resource_dir(name: str) -> Path:
    """templates/ and static/ live inside the installed package, or beside it in a checkout."""
    installed = _HERE / name
    return installed if installed.is_dir() else _HERE.parent / name


DEFAULT_CONFIG = {
    "MAX_JOBS": 16,  # server-wide cap on running training jobs
    "CORS_ALLOWED_ORIGINS": None,  # None: only the page's own origin; a list adds origins
    "MAX_MESSAGE_BYTES": 64 * 1024,  # larger client messages are refused with a message
    "PING_INTERVAL": 10,  # seconds between Engine.IO pings
}
HARD_MESSAGE_LIMIT = 1024 * 1024  # past this Engine.IO drops the connection outright


def create_app(config: dict | None = None) -> Flask:
    """Build the Flask app; ``config`` overrides ``DEFAULT_CONFIG`` and Flask settings."""
    app = Flask(
        __name__,
        template_folder=str(_resource_dir("templates")),
        static_folder=str(_resource_dir("static")),
    )
    app.config.update(DEFAULT_CONFIG)
    if config:
        app.config.update(config)

    # events, instruments and predict register their handlers on ``socketio``
    from . import downloads, events, instruments, predict, routes
    from .jobs import JobManager

    app.register_blueprint(routes.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(predict.bp)
    app.extensions["bpnet_jobs"] = JobManager(socketio, max_jobs=app.config["MAX_JOBS"])
    del events, instruments

    origins = app.config["CORS_ALLOWED_ORIGINS"]
    if isinstance(origins, str) and origins != "*":
        origins = [origins]
    if isinstance(origins, list):
        origins = same_origin_or(origins)
    socketio.init_app(
        app,
        async_mode="threading",
        cors_allowed_origins=origins,
        # a tab whose network vanished (no close) is noticed within ping_interval + ping_timeout
        ping_interval=app.config["PING_INTERVAL"],
        ping_timeout=10,
        max_http_buffer_size=HARD_MESSAGE_LIMIT,
    )
    return app
