"""``code``: the Python scripts that reproduce the page's current settings ("Show code").

The config is validated exactly as ``start`` validates it; the scripts are written by
``bpnet.engine.codegen`` from the objects a job would build.
"""

from __future__ import annotations

from bpnet.engine import parse_config
from bpnet.engine.codegen import scripts

from . import socketio
from .events import answered


@socketio.on("code")
@answered
def code(data=None):
    config = parse_config(data)
    sources = scripts(config)
    names = {"bpnet": f"bpnet_{config.task}.py", "torch": f"torch_{config.task}.py"}
    return {"ok": True, **sources, "filenames": names}
