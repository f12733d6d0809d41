"""Run the real web app in a subprocess, and talk to it with a real Socket.IO client.

Flask-SocketIO's test client patches the server in-process; these helpers test the wire
instead: ``python -m webapp`` on a free port on 127.0.0.1, WebSocket transport only.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager, suppress

import socketio

from benchmarks.load import in_wire_order  # record events in the order they arrived


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen, name: str, timeout: float) -> None:
    """Return once ``process`` accepts connections on ``port``; raise, with its output if it
    exited, or after ``timeout`` seconds (it is killed then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None:
                output = process.stdout.read() if process.stdout else ""
                raise RuntimeError(
                    f"{name} exited with status {process.returncode}: {output}"
                ) from None
            time.sleep(0.05)
    process.kill()
    raise RuntimeError(f"{name} did not start within {timeout:g} s")


@contextmanager
def live_server(*args: str, env: dict | None = None):
    """Yield (url, process) for ``python -m webapp`` on a free port; stop it afterwards."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--port", str(port), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, **(env or {})},
    )
    url = f"http://127.0.0.1:{port}"
    wait_for_port(port, process, "python -m webapp", timeout=30)
    try:
        yield url, process
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
        process.stdout.close()


class Client:
    """A python-socketio client over WebSocket that records every event it receives."""

    def __init__(self, url: str, **connect_args):
        self.sio = socketio.Client(reconnection=False)
        self.events: list[tuple[str, dict, float]] = []
        self._lock = threading.Lock()
        self.sio.on("*", self._record)
        in_wire_order(self.sio)
        self.sio.connect(url, transports=["websocket"], wait_timeout=10, **connect_args)

    def _record(self, name, payload=None):
        with self._lock:
            self.events.append((name, payload, time.time()))

    def call(self, name: str, data=None, timeout: float = 10):
        return self.sio.call(name, data, timeout=timeout)

    def of(self, name: str) -> list[dict]:
        with self._lock:
            return [payload for event, payload, _ in self.events if event == name]

    def final_state(self) -> str | None:
        states = [s["state"] for s in self.of("status")]
        return states[-1] if states else None

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate(self):
                return
            time.sleep(0.02)
        raise AssertionError(f"timed out; last events: {[e for e, _, _ in self.events][-10:]}")

    def wait_until_ended(self, timeout: float = 60.0) -> str:
        self.wait_for(lambda c: c.final_state() in ("finished", "stopped", "failed"), timeout)
        return self.final_state()

    def close(self) -> None:
        if self.sio.connected:
            self.sio.disconnect()

    def hang_up(self) -> None:
        """Drop the TCP connection as a closed or reloaded tab does (the polite
        ``close`` waits up to 3 s for a handshake)."""
        sock = getattr(getattr(self.sio.eio, "ws", None), "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 10
        while self.sio.connected and time.monotonic() < deadline:
            time.sleep(0.01)
