"""Socket.IO events of the instruments: step a paused job, inspect its backprop, check it.

``step`` trains one batch or one epoch of a paused job; ``inspect`` and ``gradcheck``
answer, in their acknowledgement, what the engine's inspector finds in the job's next
batch (docs/protocol.md). They run on the handler's thread while the job's thread waits
paused; the job holds off until they finish, and they work on copies of its network.
"""

from __future__ import annotations

from bpnet.engine import ConfigError

from . import socketio
from .events import _current_job, _kind, _refusal, answered

GRADCHECK_K = (1, 20, 5)  # least, most and default number of weights a check compares


def _fields(event: str, data, allowed: tuple[str, ...]) -> dict:
    """The payload as a dict of known fields; raises ConfigError otherwise."""
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(None, f"{event} takes an object such as {{}}, got {_kind(data)}")
    extra = next((name for name in data if name not in allowed), None)
    if extra is not None:
        raise ConfigError(extra, f"unknown field {extra!r}; {event} takes {', '.join(allowed)}")
    return data


def _integer(data: dict, field: str, low: int, high: int, example: str) -> int:
    value = data[field]
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise ConfigError(
            field, f"{field} must be a whole number from {low} to {high}, e.g. {example}; "
            f"got {str(value)[:20]!r}",
        )  # fmt: skip
    return value


@socketio.on("step")
@answered
def step(data=None):
    """``{"unit": "batch" | "epoch"}``: one unit of training, then paused again."""
    data = _fields("step", data, ("unit",))
    job = _current_job()
    if job is None:
        return _refusal("no job is running")
    job.step(data.get("unit"))
    return {"ok": True}


@socketio.on("inspect")
@answered
def inspect(data=None):
    """``{"layer": i}`` (optional): histograms and figures per layer for the next batch."""
    data = _fields("inspect", data, ("layer",))
    job = _current_job()
    if job is None:
        return _refusal("no job is running")
    layer = data.get("layer")
    if layer is not None:
        layer = _integer(data, "layer", 0, 99, '{"layer": 0}')
    return {"ok": True, **job.inspect(layer)}


@socketio.on("gradcheck")
@answered
def gradcheck(data=None):
    """``{"layer": i, "k": 5}``: backprop beside central differences for k weights."""
    data = _fields("gradcheck", data, ("layer", "k"))
    if "layer" not in data:
        return _refusal('gradcheck needs a layer, e.g. {"layer": 0, "k": 5}', "layer")
    job = _current_job()
    if job is None:
        return _refusal("no job is running")
    low, high, default = GRADCHECK_K
    k = _integer(data, "k", low, high, '{"layer": 0, "k": 5}') if "k" in data else default
    layer = _integer(data, "layer", 0, 99, '{"layer": 0, "k": 5}')
    return {"ok": True, **job.gradcheck(layer, k)}
