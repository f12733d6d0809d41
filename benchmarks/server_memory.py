"""Server memory with N MNIST jobs running at once: one shared copy of MNIST, however many.

Starts the real server, samples its RSS idle, then connects N Socket.IO clients that
each start the default MNIST job, and samples RSS every 50 ms until all have finished.

    python -m benchmarks.server_memory [--jobs 4] [--epochs 2]
"""

from __future__ import annotations

import argparse
import sys
import threading
import time

import psutil
import socketio

from .streaming_overhead import start_server


def run_client(url: str, config: dict, done: list) -> None:
    client = socketio.Client(reconnection=False)
    finished = threading.Event()

    @client.on("status")
    def on_status(payload):
        if payload["state"] in ("finished", "stopped", "failed"):
            done.append(payload["state"])
            finished.set()

    client.connect(url, transports=["websocket"])
    ack = client.call("start", config, timeout=60)
    assert ack["ok"], ack
    finished.wait(600)
    client.disconnect()


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=4)
    parser.add_argument("--epochs", type=int, default=2)
    args = parser.parse_args(argv)
    server, url = start_server()
    try:
        process = psutil.Process(server.pid)
        time.sleep(1.0)
        idle = process.memory_info().rss
        done: list[str] = []
        config = {"task": "mnist", "epochs": args.epochs}
        clients = [
            threading.Thread(target=run_client, args=(url, config, done)) for _ in range(args.jobs)
        ]
        for client in clients:
            client.start()
        peak = idle
        while any(c.is_alive() for c in clients):
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.05)
        mib = 1024 * 1024
        print(f"{args.jobs} default MNIST jobs ({args.epochs} epochs each): {done}")
        print(f"server RSS idle {idle / mib:.0f} MiB, peak {peak / mib:.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
