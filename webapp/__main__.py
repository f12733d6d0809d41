"""``python -m webapp`` (or ``bpnet-web``): serve the dashboard.

Binds to 127.0.0.1 unless told otherwise, with a cap on connections and timeouts for slow
clients (``serving.py``). On Ctrl-C or SIGTERM every running job is told to stop and
reports ``stopped`` to its tab before the process exits.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import secrets
import signal
import sys
import time

from . import create_app, logs, serving
from .blas import limit_blas_threads
from .origins import host_names


def _port(text: str) -> int:
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 1 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"a port is a whole number from 1 to 65535, got {text!r}")
    return port


def _positive(kind):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            value = 0
        if not value > 0:
            raise argparse.ArgumentTypeError(f"expected a number above 0, got {text!r}")
        return value

    parse.__name__ = kind.__name__
    return parse


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bpnet-web", description="Serve the bpnet dashboard.")
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="address to listen on (default 127.0.0.1: this computer only; "
        "0.0.0.0 lets every machine on the network train here)",
    )
    parser.add_argument("--port", type=_port, default=5000, help="port, 1-65535 (default 5000)")
    parser.add_argument(
        "--max-jobs", type=_positive(int), default=16, help="running jobs at most (16)"
    )
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
        help="also accept Socket.IO connections from pages served at URL (and its host name)",
    )
    parser.add_argument(
        "--redis",
        metavar="URL",
        help="class mode: queue jobs for `bpnet worker` processes through the Redis at URL, "
        "e.g. redis://127.0.0.1:6379/0 (needs pip install -e '.[class]')",
    )
    parser.add_argument(
        "--teacher-token",
        metavar="TOKEN",
        help="the token of the teacher's view at /class (default: a new one, printed at start)",
    )
    parser.add_argument(
        "--blas-threads",
        type=_positive(int),
        default=1,
        metavar="N",
        help="threads numpy's matrix products may use (default 1: jobs run side by side, and "
        "a job on a busy machine still stops within half a second)",
    )
    parser.add_argument(
        "--max-connections",
        type=_positive(int),
        default=serving.MAX_CONNECTIONS,
        help=f"open connections at most; past it a client gets 503 ({serving.MAX_CONNECTIONS})",
    )
    parser.add_argument(
        "--head-timeout",
        type=_positive(float),
        default=serving.HEAD_TIMEOUT,
        metavar="SECONDS",
        help=f"time a client has to send a request's headers ({serving.HEAD_TIMEOUT:g})",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    logs.install()
    limit_blas_threads(args.blas_threads)  # every job is a thread of this process (blas.py)
    if args.grace < 0:
        parser.error(f"--grace must be 0 or more seconds, got {args.grace:g}; e.g. --grace 60")
    try:
        app = create_app({
            "MAX_JOBS": args.max_jobs,
            "CORS_ALLOWED_ORIGINS": args.allow_origin,
            "ALLOWED_HOSTS": sorted(host_names(args.host, args.allow_origin)),
            "GRACE_SECONDS": args.grace,
            "REDIS_URL": args.redis,
            "TEACHER_TOKEN": args.teacher_token or secrets.token_urlsafe(24),
        })  # fmt: skip
    except RuntimeError as exc:  # class mode without its extra
        parser.exit(2, f"bpnet-web: error: {exc}\n")
    jobs = app.extensions["bpnet_jobs"]

    def shut_down(signum, frame):
        print(
            f"\nbpnet-web: {signal.Signals(signum).name}: stopping {jobs.running()} job(s)",
            file=sys.stderr,
            flush=True,
        )
        jobs.stop_all(wait=2.0, reason="the server is shutting down")
        time.sleep(0.3)  # let the final `stopped` statuses reach the browsers
        os._exit(0)  # serve_forever would otherwise wait on open websockets

    signal.signal(signal.SIGINT, shut_down)
    signal.signal(signal.SIGTERM, shut_down)
    try:
        server = serving.BoundedServer(
            args.host, args.port, app,
            max_connections=args.max_connections, head_timeout=args.head_timeout,
        )  # fmt: skip
    except OSError as exc:  # before any address is printed
        if exc.errno == errno.EADDRINUSE:
            hint = f"try --port {args.port + 1}" if args.port < 65535 else "try another --port"
            print(f"bpnet-web: port {args.port} is in use: {hint}", file=sys.stderr)
        else:
            print(f"bpnet-web: cannot listen on {args.host}:{args.port}: {exc.strerror}",
                  file=sys.stderr)  # fmt: skip
        return 1
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"bpnet dashboard: http://{shown}:{args.port}/  (for a class or a shared machine, "
        f"see 'Serving a class' in the README)",
        flush=True,
    )
    # the one place the token is shown (like Jupyter's): werkzeug's request log is off
    print(
        f"teacher's view: http://{shown}:{args.port}/class?token={app.config['TEACHER_TOKEN']}",
        flush=True,
    )
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
