"""The outermost layer of the app: who may reach it, and what never reaches Socket.IO.

It refuses a request whose ``Host`` is not one of the server's names (DNS rebinding;
``origins.host_allowed``), answers a websocket handshake of an unknown version with
426 instead of an error, and turns a websocket that fails mid-stream (a garbled frame)
into one log line and a closed connection rather than a traceback.
"""

from __future__ import annotations

from .logs import OncePer
from .origins import host_allowed


def guarded(wsgi_app, names: set[str]):
    """Wrap the whole WSGI app (pages, downloads and Socket.IO alike)."""
    quiet = OncePer()

    def app(environ, start_response):
        host = environ.get("HTTP_HOST", "")
        if not host_allowed(host, names):
            return _answer(
                start_response, "403 Forbidden",
                f"bpnet: this server does not answer to the name {host[:100]!r}. If that is "
                f"how your class reaches it, start it with --allow-origin http://{host[:100]}",
            )  # fmt: skip
        if environ.get("HTTP_UPGRADE", "").lower() != "websocket":
            return wsgi_app(environ, start_response)
        if environ.get("HTTP_SEC_WEBSOCKET_VERSION") != "13":
            return _answer(
                start_response, "426 Upgrade Required", "bpnet: WebSocket version 13 only",
                [("Sec-WebSocket-Version", "13")],
            )  # fmt: skip
        try:
            return wsgi_app(environ, start_response)
        except ConnectionError:
            raise  # how Engine.IO tells Werkzeug that a websocket has closed: no error
        except Exception as exc:
            # The handshake is done, so there is no response to send: log one line and
            # let the server close the connection as a dropped one.
            quiet.warn(f"closed a websocket that sent something unreadable: {exc!r}")
            raise ConnectionError("unreadable websocket message") from None

    return app


def _answer(start_response, status: str, text: str, headers=()) -> list[bytes]:
    body = (text + "\n").encode()
    start_response(status, [
        ("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
        *headers,
    ])  # fmt: skip
    return [body]
