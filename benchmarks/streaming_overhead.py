"""How much does watching cost? The same job unwatched vs streamed to a live browser-like client.

Unwatched: ``TrainingJob(config).run(emit)`` with an ``emit`` that drops every event.
Watched: the real server (``python -m webapp`` in a subprocess) runs the job for a real
Socket.IO client over WebSocket, which receives every event. The figure compared is the
job's own training clock (the ``elapsed`` of its last epoch), so connection set-up is
not counted. Runs alternate (which goes first alternates too), and medians are reported.

    python -m benchmarks.streaming_overhead [--repeats 5] [--quick]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

from bpnet.engine import TrainingJob, parse_config

CONFIGS = {
    "curve (2,000 epochs)": {"task": "curve", "epochs": 2000},
    "surface (default, 300 epochs)": {"task": "surface"},
    "mnist (2 epochs of 60,000)": {"task": "mnist", "epochs": 2},
}
QUICK = {
    "curve (200 epochs)": {"task": "curve", "epochs": 200},
    "mnist (1 epoch of 10,000)": {"task": "mnist", "epochs": 1, "train_subset": 10_000},
}


def unwatched(config: dict) -> float:
    last = {}

    def keep_last_epoch(event):
        if event["event"] == "epoch":
            last.update(event)

    job = TrainingJob(parse_config(config))
    assert job.run(keep_last_epoch) == "finished", job.message
    return last["elapsed"]


def watched(url: str, config: dict) -> tuple[float, int]:
    import socketio

    client = socketio.Client(reconnection=False)
    received = {"count": 0, "last": None, "state": None}

    @client.on("*")
    def record(name, payload=None):
        received["count"] += 1
        if name == "epoch":
            received["last"] = payload
        if name == "status":
            received["state"] = payload["state"]

    client.connect(url, transports=["websocket"])
    ack = client.call("start", config, timeout=30)
    assert ack["ok"], ack
    while received["state"] not in ("finished", "failed", "stopped"):
        time.sleep(0.01)
    client.disconnect()
    assert received["state"] == "finished"
    return received["last"]["elapsed"], received["count"]


def start_server(*args: str) -> tuple[subprocess.Popen, str]:
    """``python -m webapp`` with ``args`` on a free port: (process, its URL)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen(
        [sys.executable, "-m", "webapp", "--port", str(port), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=os.environ.copy(),
    )
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
            break
        except OSError:
            time.sleep(0.05)
    return server, f"http://127.0.0.1:{port}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--quick", action="store_true", help="short jobs, one repeat")
    args = parser.parse_args(argv)
    configs, repeats = (QUICK, 1) if args.quick else (CONFIGS, args.repeats)
    server, url = start_server()
    try:
        print(f"{'job':34} {'unwatched s':>12} {'watched s':>10} {'ratio':>7} {'events':>7}")
        for name, config in configs.items():
            alone, streamed, counts = [], [], []
            for repeat in range(repeats):  # alternate, so a slow spell hits both sides
                if repeat % 2:
                    alone.append(unwatched(config))
                seconds, count = watched(url, config)
                streamed.append(seconds)
                counts.append(count)
                if not repeat % 2:
                    alone.append(unwatched(config))
            a, w = statistics.median(alone), statistics.median(streamed)
            print(f"{name:34} {a:12.2f} {w:10.2f} {w / a:7.3f} {max(counts):7d}", flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
