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

from .guard import guarded
from .origins import host_names, same_origin_or

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
    "REDIS_URL": None,  # class mode (webapp/cluster): jobs run on `bpnet worker` processes
    "TEACHER_TOKEN": None,  # opens the teacher's view at /class; None: no teacher's view
    # Host names the server answers to besides IP addresses and localhost (None: the hosts
    # of CORS_ALLOWED_ORIGINS); any other Host header is refused (DNS rebinding).
    "ALLOWED_HOSTS": None,
    "GRACE_SECONDS": 60,  # a job whose tab went away waits this long for it to attach again
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

    # events, attach, code, instruments and predict register their handlers on ``socketio``
    from . import attach, code, downloads, events, instruments, predict, routes, teacher
    from .jobs import JobManager

    app.register_blueprint(routes.bp)
    app.register_blueprint(downloads.bp)
    app.register_blueprint(predict.bp)
    app.register_blueprint(teacher.bp)
    redis_url = app.config["REDIS_URL"]
    if redis_url:
        from .cluster import require

        require()  # a clear install command rather than an ImportError
        from .cluster.relay import Relay
        from .cluster.remote import RemoteJobManager  # only class mode imports redis

        relay = Relay(redis_url)
        jobs = RemoteJobManager(
            socketio, redis_url, max_jobs=app.config["MAX_JOBS"], relay=relay,
            grace=app.config["GRACE_SECONDS"],
        )  # fmt: skip
    else:
        relay = None
        jobs = JobManager(
            socketio, max_jobs=app.config["MAX_JOBS"], grace=app.config["GRACE_SECONDS"]
        )
    app.extensions["bpnet_jobs"] = jobs
    del events, attach, code, instruments

    origins = app.config["CORS_ALLOWED_ORIGINS"]
    if isinstance(origins, str) and origins != "*":
        origins = [origins]
    names = app.config["ALLOWED_HOSTS"]
    if names is None:
        names = host_names("127.0.0.1", origins if isinstance(origins, list) else None)
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
        # class mode: workers and the other web processes emit to our tabs through Redis
        client_manager=relay,  # None: the default in-process manager
    )
    # outermost, so that pages, downloads and Socket.IO are all behind the Host check
    app.wsgi_app = guarded(app.wsgi_app, {name.lower() for name in names})
    return app
