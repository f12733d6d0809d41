"""The guard on what the job manager sends to a tab: strict JSON, never NaN or Infinity.

JSON has no word for a number that is not finite, and the browser's parser would drop the
whole connection over one. The engine reports non-finite values as a failed job; this
check catches anything that slips past it, so the tab is told rather than disconnected.
"""

from __future__ import annotations

import json


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
