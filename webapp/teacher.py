"""The teacher's view: every running job on this server or cluster, with a stop button.

``/class?token=…`` is the page; ``/class/jobs`` lists the jobs as JSON and
``/class/jobs/<id>/stop`` stops one, both with the token in the ``X-Teacher-Token``
header. The token is printed once at start (or given with ``--teacher-token``) and
compared in constant time.
"""

from __future__ import annotations

import hmac

from bpnet.engine.config import as_dict

SUMMARY_FIELDS = ("expression", "dataset", "architecture", "hidden", "activation", "optimizer",
                  "lr", "batch_size", "epochs")  # fmt: skip


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
