"""The JSON that Socket.IO reads and writes here: the standard library's, strict both ways.

Writing, a number that is not finite (NaN, Infinity) is refused: JSON has no word for it,
and the browser's parser would drop the whole connection over one. Reading, the words
NaN and Infinity are refused too, and integers are capped at 100 digits as Engine.IO does.
"""

from __future__ import annotations

import json

from engineio import json as engineio_json  # the standard library's, with integers capped


class NotJSON(ValueError):
    pass


def dumps(obj, **kwargs) -> str:
    """``json.dumps`` that raises ``NotJSON`` for NaN and infinities."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except ValueError as exc:
        raise NotJSON(
            f"a value is not finite (NaN or infinity), which JSON cannot carry: {exc}"
        ) from None


def loads(text, **kwargs):
    """Engine.IO's ``loads`` (integers of at most 100 digits) without NaN/Infinity."""
    return engineio_json.loads(text, parse_constant=_refuse_constant, **kwargs)


def _refuse_constant(name: str):
    raise NotJSON(f"{name} is not a JSON number")
