"""The HTTP server behind ``python -m webapp``: Werkzeug's, with a cap and timeouts.

Each connection gets a thread (a websocket keeps its thread while open), so the server
caps connections and answers past the cap with an immediate 503 instead of queueing. A
request head must arrive within ``head_timeout`` seconds (a half-open request cannot hold
its thread for longer), and a connection silent for ``idle_timeout`` seconds is closed:
a live tab answers the server's pings every 10 s, so only a dead one is silent that long.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time

from werkzeug.serving import ThreadedWSGIServer, WSGIRequestHandler

MAX_CONNECTIONS = 1000  # connections (threads) at once; a tab holds one websocket
HEAD_TIMEOUT = 10.0  # seconds to send a request's line and headers
IDLE_TIMEOUT = 30.0  # seconds of silence before a connection is closed (pings come every 10)
BUSY_RESPONSE = (
    b"HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
    b"Retry-After: 5\r\nContent-Length: 48\r\n\r\nbpnet: too many connections; try again shortly.\n"
)


class _Deadlines:
    """One thread that closes connections whose request head is late (slow or silent
    clients), so that no thread waits on one for longer than the head timeout."""

    def __init__(self, timeout: float):
        self.timeout = timeout
        self._due: dict[socket.socket, float] = {}
        self._lock = threading.Lock()
        threading.Thread(target=self._run, name="head-deadlines", daemon=True).start()

    def watch(self, connection: socket.socket) -> None:
        with self._lock:
            self._due[connection] = time.monotonic() + self.timeout

    def release(self, connection: socket.socket) -> None:
        with self._lock:
            self._due.pop(connection, None)

    def _run(self) -> None:
        while True:
            time.sleep(min(0.25, self.timeout / 4))
            now = time.monotonic()
            with self._lock:
                late = [conn for conn, due in self._due.items() if due < now]
                for conn in late:
                    del self._due[conn]
            for conn in late:
                with contextlib.suppress(OSError):
                    conn.shutdown(socket.SHUT_RDWR)  # the waiting read returns at once


class _Handler(WSGIRequestHandler):
    """Werkzeug's handler with the head deadline and idle timeout, and quiet about
    connections that a client simply dropped."""

    def setup(self) -> None:
        self.timeout = self.server.idle_timeout  # socket timeout for every read and write
        super().setup()

    def handle_one_request(self) -> None:
        self.server.deadlines.watch(self.connection)
        try:
            super().handle_one_request()
        finally:
            self.server.deadlines.release(self.connection)

    def run_wsgi(self) -> None:
        self.server.deadlines.release(self.connection)  # the head is in
        upgrade = self.headers.get("Upgrade", "").lower() == "websocket"
        super().run_wsgi()
        if upgrade:
            # What follows a websocket on this connection is its closing frames, not a
            # request: reading them as one would log "400 Bad request syntax".
            self.close_connection = True

    def log_request(self, code="-", size="-") -> None:
        pass  # one line per request would drown what matters; errors are still logged

    def log_error(self, format: str, *args) -> None:
        if args and str(args[0]).startswith(("Request timed out", "Bad request syntax")):
            return  # a late or garbled head from a client we have already closed on
        super().log_error(format, *args)


class BoundedServer(ThreadedWSGIServer):
    """A threaded WSGI server with at most ``max_connections`` connections at once."""

    def __init__(
        self,
        host: str,
        port: int,
        app,
        max_connections: int = MAX_CONNECTIONS,
        head_timeout: float = HEAD_TIMEOUT,
        idle_timeout: float = IDLE_TIMEOUT,
    ):
        """Listen on (host, port) at once.

        Raises:
            OSError: the port is taken (``errno.EADDRINUSE``) or the address is not ours.
        """
        self.idle_timeout = idle_timeout
        self.deadlines = _Deadlines(head_timeout)  # before listening: a client may come at once
        self._slots = threading.BoundedSemaphore(max_connections)
        self._listener = _listen(host, port)
        super().__init__(host, port, app, handler=_Handler, fd=self._listener.fileno())

    def process_request(self, request, client_address) -> None:
        if not self._slots.acquire(blocking=False):
            with contextlib.suppress(OSError):
                request.setblocking(False)
                request.send(BUSY_RESPONSE)  # small: fits the socket's send buffer at once
            self.shutdown_request(request)
            return
        try:
            super().process_request(request, client_address)  # starts the thread
        except BaseException:
            self._slots.release()
            raise

    def process_request_thread(self, request, client_address) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            self._slots.release()


def _listen(host: str, port: int) -> socket.socket:
    """A listening socket on (host, port), made here so that Werkzeug's own failure (a
    message and ``sys.exit``) never happens: the caller words it."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    listener = socket.socket(family, socket.SOCK_STREAM)
    try:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((host, port))
        listener.listen(1024)
    except OSError:
        listener.close()
        raise
    return listener
