"""``python -m webapp`` (or ``bpnet-web``): serve the dashboard.

Binds to 127.0.0.1 unless told otherwise. On Ctrl-C or SIGTERM every running job is
told to stop and reports ``stopped`` before the process exits.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import time

from . import create_app, socketio


class OneLineForGarbledMessages(logging.Filter):
    """Socket.IO logs a client message it cannot make sense of (JSON nested thousands
    deep, an integer of more than 100 digits, an event without a name) as an error with a
    traceback. Only a hand-made client sends one, and its connection carries on: one line
    says it, and a stream of them cannot fill the log with tracebacks. An error that went
    through our own code keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage() == "message handler error":
            error, frames = record.exc_info[1], _frames(record.exc_info[2])
            ours = any(
                frame.f_globals.get("__name__", "").startswith(("webapp", "bpnet"))
                for frame in frames
            )
            if not ours:
                record.msg = "dropped a client message that could not be read: %s: %.200s"
                record.args = (type(error).__name__, error)
                record.exc_info, record.exc_text = None, None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def _frames(traceback):
    while traceback is not None:
        yield traceback.tb_frame
        traceback = traceback.tb_next


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bpnet-web", description="Serve the bpnet dashboard.")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; "
        "0.0.0.0 lets every machine on the network train here)",
    )
    parser.add_argument("--port", type=int, default=5000, help="port (default 5000)")
    parser.add_argument("--max-jobs", type=int, default=16, help="running jobs at most (16)")
    parser.add_argument(
        "--grace",
        type=float,
        default=60.0,
        metavar="SECONDS",
        help="keep a job running this long after its tab's connection drops, so that a "
        "reload or a network blip does not lose it (default 60; 0 stops it at once)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=None,
        metavar="URL",
        help="also accept Socket.IO connections from pages served at URL",
    )
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logging.getLogger("engineio.server").addFilter(OneLineForGarbledMessages())
    if args.grace < 0:
        parser.error(f"--grace must be 0 or more seconds, got {args.grace:g}; e.g. --grace 60")
    app = create_app(
        {
            "MAX_JOBS": args.max_jobs,
            "CORS_ALLOWED_ORIGINS": args.allow_origin,
            "GRACE_SECONDS": args.grace,
        }
    )
    jobs = app.extensions["bpnet_jobs"]

    def shut_down(signum, frame):
        print(
            f"\nbpnet-web: {signal.Signals(signum).name}: stopping {jobs.running()} job(s)",
            file=sys.stderr,
            flush=True,
        )
        jobs.stop_all(wait=3.0)
        time.sleep(0.3)  # let the final `stopped` statuses reach the browsers
        os._exit(0)  # werkzeug's serve_forever would otherwise wait on open websockets

    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    print(f"bpnet dashboard: http://{args.host}:{args.port}/", flush=True)
    socketio.run(
        app,
        host=args.host,
        port=args.port,
        debug=False,
        use_reloader=False,
        log_output=False,
        allow_unsafe_werkzeug=True,
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
