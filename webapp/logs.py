"""Keeping the server's log readable when clients send garbage.

A hand-made client can make Socket.IO fail on a message (JSON nested thousands deep, an
event whose name is an object): the libraries log each with a traceback, so a stream of
them would fill the disk. Each becomes one warning line, at most one per ``EVERY``
seconds with a count of the ones left out. An error that went through our own code
(``webapp``, ``bpnet``) keeps its traceback: that one is a bug to see.
"""

from __future__ import annotations

import logging
import threading
import time

log = logging.getLogger("webapp")
EVERY = 1.0  # seconds between two lines about unreadable client messages


class OncePer:
    """Log at most one warning per ``seconds``, counting the ones left out."""

    def __init__(self, seconds: float = EVERY):
        self.seconds = seconds
        self.next_time = 0.0
        self.skipped = 0
        self._lock = threading.Lock()

    def allow(self) -> str | None:
        """None if this line must be left out; else a suffix for it ("" or the count)."""
        with self._lock:
            now = time.monotonic()
            if now < self.next_time:
                self.skipped += 1
                return None
            more = f" (and {self.skipped} more like it)" if self.skipped else ""
            self.next_time, self.skipped = now + self.seconds, 0
            return more

    def warn(self, message: str) -> None:
        more = self.allow()
        if more is not None:
            log.warning("%.300s%s", message, more)


_unreadable = OncePer()


class OneLineForGarbledMessages(logging.Filter):
    """For Engine.IO's "message handler error" records: one rate-limited line each."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.getMessage() == "message handler error":
            error = record.exc_info[1]
            if not _ours(record.exc_info[2]):
                more = _unreadable.allow()
                if more is None:
                    return False
                record.msg = "dropped a client message that could not be read: %s: %.200s%s"
                record.args = (type(error).__name__, error, more)
                record.exc_info, record.exc_text = None, None
                record.levelno, record.levelname = logging.WARNING, "WARNING"
        return True


def quiet_foreign_thread_errors() -> None:
    """An exception that ends a library's thread (python-socketio handles each message in
    a thread of its own) becomes one rate-limited line; ours keep the full report."""
    previous = threading.excepthook

    def hook(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit or _ours(args.exc_traceback):
            previous(args)
        else:
            _unreadable.warn(
                f"dropped a client message that could not be read: "
                f"{args.exc_type.__name__}: {args.exc_value}"
            )

    threading.excepthook = hook


def install() -> None:
    logging.getLogger("engineio.server").addFilter(OneLineForGarbledMessages())
    quiet_foreign_thread_errors()


def _ours(traceback) -> bool:
    """Did the error pass through our code?"""
    while traceback is not None:
        module = traceback.tb_frame.f_globals.get("__name__", "")
        if module.startswith(("webapp", "bpnet")):
            return True
        traceback = traceback.tb_next
    return False
