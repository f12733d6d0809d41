"""Can a class lock the server out? Idle websockets, half-open requests, then SIGTERM.

Starts ``python -m webapp`` and opens N idle Socket.IO websockets (one thread here answers
all their pings), then times page loads (``/curve`` and plotly.js) and a new tab's job;
then holds M half-open requests (headers never finished) and times page loads again,
and counts how many of those the server has closed after its head timeout; last, with a
job running, sends SIGTERM and times the exit, checking that the job's tab was told.

    python -m benchmarks.idle_websockets [--idle 500] [--half-open 300]
    python -m benchmarks.idle_websockets --quick      # 20 and 20, a smoke run
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import selectors
import signal
import socket
import statistics
import sys
import threading
import time

import psutil
import socketio
import websocket

from webapp import serving

from .streaming_overhead import start_server

SHORT = {"task": "curve", "hidden": [8], "n_train": 32, "n_val": 16, "grid": 20, "epochs": 50}
LONG = {**SHORT, "epochs": 100_000}


class IdleTabs:
    """N websockets that connect to Socket.IO and then only answer pings."""

    def __init__(self, url: str, count: int):
        self.sockets = []
        address = url.replace("http://", "ws://") + "/socket.io/?EIO=4&transport=websocket"
        for _ in range(count):
            ws = websocket.create_connection(address, timeout=30)
            ws.recv()  # Engine.IO open
            ws.send("40")
            ws.recv()  # Socket.IO connected
            self.sockets.append(ws)
        self.closed = 0
        self._selector = selectors.DefaultSelector()
        for ws in self.sockets:
            self._selector.register(ws.sock, selectors.EVENT_READ, ws)
        self._running = True
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        while self._running:
            for key, _ in self._selector.select(timeout=0.5):
                ws = key.data
                try:
                    if ws.recv() == "2":
                        ws.send("3")
                except Exception:
                    self._selector.unregister(key.fileobj)
                    self.closed += 1

    def close(self) -> None:
        self._running = False
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                ws.shutdown()


def fetch(url: str, path: str) -> float:
    """Seconds to GET ``path`` in full on a new connection (inf if it failed)."""
    port = int(url.rsplit(":", 1)[1])
    start = time.perf_counter()
    try:
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        connection.close()
    except OSError:
        return float("inf")
    return time.perf_counter() - start if response.status == 200 else float("inf")


def page_loads(url: str, repeats: int) -> str:
    results = []
    for path in ("/curve", "/vendor/plotly.min.js"):
        times = [fetch(url, path) for _ in range(repeats)]
        results.append(f"{path} median {statistics.median(times) * 1000:.0f} ms, "
                       f"max {max(times) * 1000:.0f} ms")  # fmt: skip
    return "; ".join(results)


def new_tab_job(url: str) -> tuple[float, socketio.Client, list]:
    """Seconds for a new tab to connect and finish a short job."""
    start = time.perf_counter()
    tab = socketio.Client(reconnection=False)
    statuses: list = []
    done = threading.Event()

    @tab.on("status")
    def on_status(payload):
        statuses.append(payload)
        if payload["state"] in ("finished", "stopped", "failed"):
            done.set()

    tab.connect(url, transports=["websocket"], wait_timeout=30)
    assert tab.call("start", SHORT, timeout=30)["ok"]
    done.wait(60)
    return time.perf_counter() - start, tab, statuses


def describe(process: psutil.Process) -> str:
    return (f"server {process.num_threads()} threads, "
            f"{process.memory_info().rss / 2**20:.0f} MiB RSS")  # fmt: skip


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle", type=int, default=500, help="idle websockets (500)")
    parser.add_argument("--half-open", type=int, default=300, help="half-open requests (300)")
    parser.add_argument("--quick", action="store_true", help="20 and 20")
    args = parser.parse_args(argv)
    idle, half = (20, 20) if args.quick else (args.idle, args.half_open)
    # the quick run shortens the head timeout (the real run keeps the default 10 s)
    head_timeout = 2.0 if args.quick else serving.HEAD_TIMEOUT
    server, url = start_server("--head-timeout", str(head_timeout))
    process = psutil.Process(server.pid)
    told: list = []
    try:
        time.sleep(1.0)
        print(f"idle server: {describe(process)}; pages: {page_loads(url, 5)}")
        start = time.perf_counter()
        tabs = IdleTabs(url, idle)
        print(f"{idle} idle websockets opened in {time.perf_counter() - start:.1f} s: "
              f"{describe(process)}")  # fmt: skip
        print(f"  pages: {page_loads(url, 10)}")
        seconds, tab, _ = new_tab_job(url)
        print(f"  a new tab connects and finishes a 50-epoch job in {seconds:.2f} s")
        tab.disconnect()

        port = int(url.rsplit(":", 1)[1])
        held = []
        for _ in range(half):
            conn = socket.create_connection(("127.0.0.1", port))
            conn.sendall(b"GET /curve HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            held.append(conn)
        time.sleep(0.5)
        print(f"+ {half} half-open requests: {describe(process)}")
        print(f"  pages: {page_loads(url, 10)}")
        time.sleep(head_timeout + 1)
        closed = 0
        for conn in held:
            conn.settimeout(0.5)
            with contextlib.suppress(OSError):
                closed += conn.recv(100) == b""
            conn.close()
        print(f"  after {head_timeout + 1:g} s the server had closed {closed}/{half} of them; "
              f"{tabs.closed}/{idle} idle websockets were closed; {describe(process)}")

        watcher = socketio.Client(reconnection=False)
        statuses: list = []
        watcher.on("status", statuses.append)
        watcher.connect(url, transports=["websocket"], wait_timeout=30)
        assert watcher.call("start", LONG, timeout=30)["ok"]
        time.sleep(1.0)
        start = time.perf_counter()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=60)
        seconds = time.perf_counter() - start
        told = [s["message"] for s in statuses if s["state"] == "stopped"]
        print(f"SIGTERM with {idle} idle websockets and a job running: exited in "
              f"{seconds:.2f} s; the job's tab was told: {told[-1] if told else 'NOTHING'}")
        tabs.close()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
    return 0 if told else 1


if __name__ == "__main__":
    sys.exit(main())
