"""Class mode: training jobs on worker processes, several web processes, one Redis.

The web processes (``python -m webapp --redis URL``) queue jobs with RQ and relay their
events with Flask-SocketIO's Redis message queue; ``bpnet worker --redis URL`` runs the
same ``bpnet.engine.TrainingJob`` in worker processes on any host. Everything here needs
the optional ``class`` extra (redis, rq); embedded mode never imports it.
"""

from __future__ import annotations

EXTRA_MISSING = (
    "class mode needs the optional 'class' extra (redis and rq): "
    "pip install -e '.[class]'  (or: pip install redis rq)"
)


def require() -> None:
    """Raise ``RuntimeError`` with the install command when redis or rq is missing."""
    try:
        import redis  # noqa: F401
        import rq  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"{EXTRA_MISSING}; missing: {exc.name}") from None
