"""A classroom at once: N browser tabs, each training its own job on one real server.

The server (``python -m webapp --max-jobs 64``) runs in a subprocess; N python-socketio
clients connect to it over WebSocket on 127.0.0.1 and press Start together. Each tab
checks that it received all of its own events (the dataset, epochs in order up to the
last, one final ``finished``) and none of anyone else's. Reported per N: jobs completed,
events received, the latency from an epoch's end on the server (the event's ``time``)
to its arrival in the tab (p50 / p95), and the server's CPU use and peak RSS (psutil).
Server and clients share the machine, so the latency includes the clients' own work.

    python -m benchmarks.load --clients 1 8 16 32 [--mix] [--epochs 500]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager, suppress

import psutil
import socketio

ENDED = ("finished", "stopped", "failed")


def curve(epochs: int) -> dict:
    return {"task": "curve", "expression": "sin(x)", "epochs": epochs}


def mix(epochs: int) -> list[dict]:
    """A curve, a surface and an MNIST subset, taken in turn by the tabs."""
    return [
        curve(epochs),
        {"task": "surface", "expression": "sin(x)*cos(y)", "epochs": max(epochs // 2, 1)},
        {"task": "mnist", "epochs": 2, "train_subset": 2000, "hidden": [64]},
    ]


class Tab:
    """One browser tab: a Socket.IO client that records every event with its arrival time."""

    def __init__(self, url: str, config: dict):
        self.config = config
        self.events: list[tuple[str, dict, float]] = []
        self.ack: dict | None = None
        self.finished = threading.Event()
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("*", self._record)
        in_wire_order(self.sio)
        self.sio.connect(url, transports=["websocket"], wait_timeout=30)

    def _record(self, name: str, payload=None) -> None:
        self.events.append((name, payload, time.time()))
        if name == "status" and payload.get("state") in ENDED:
            self.finished.set()

    def start(self) -> None:
        self.ack = self.sio.call("start", self.config, timeout=60)
        if not self.ack.get("ok"):
            self.finished.set()

    @property
    def job(self) -> str | None:
        return (self.ack or {}).get("job")

    def of(self, name: str) -> list[dict]:
        return [payload for event, payload, _ in self.events if event == name]

    def final_state(self) -> str | None:
        states = [payload["state"] for payload in self.of("status")]
        return states[-1] if states else None

    def latencies(self) -> list[float]:
        """Seconds from each epoch's end on the server to its arrival here."""
        return [arrived - payload["time"] for name, payload, arrived in self.events
                if name == "epoch"]  # fmt: skip

    def problems(self) -> list[str]:
        """What is missing or foreign in what this tab received (empty: all is well)."""
        if not (self.ack or {}).get("ok"):
            return [f"start refused: {self.ack}"]
        found = []
        foreign = {payload.get("job") for _, payload, _ in self.events} - {self.job}
        if foreign:
            found.append(f"events of other jobs: {sorted(map(str, foreign))}")
        names = [name for name, _, _ in self.events]
        if "dataset" not in names:
            found.append("no dataset event")
        epochs = [payload["epoch"] for payload in self.of("epoch")]
        if not epochs or epochs[-1] != self.config["epochs"]:
            found.append(
                f"last epoch {epochs[-1] if epochs else None}, not {self.config['epochs']}"
            )
        if any(a >= b for a, b in zip(epochs, epochs[1:])):
            found.append("epoch numbers not strictly increasing")
        if (
            "dataset" in names
            and "epoch" in names
            and names.index("dataset") > names.index("epoch")
        ):
            found.append("an epoch before the dataset")
        finals = [s["state"] for s in self.of("status") if s["state"] in ENDED]
        if finals != ["finished"]:
            found.append(f"final statuses {finals}, not one 'finished'")
        return found

    def close(self) -> None:
        """Hang up as a closed tab does (the polite disconnect waits 3 s for a handshake)."""
        sock = getattr(getattr(self.sio.eio, "ws", None), "sock", None)
        if sock is not None:
            with suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)


def in_wire_order(client: socketio.Client) -> None:
    """Handle each message in the client's reading thread, in the order it arrived.

    python-socketio hands every incoming message to a new thread, so two events can reach
    the handlers swapped; a browser's socket.io-client keeps the order, and so must we to
    check it (and to time an arrival without a thread start in it).
    """
    eio = client.eio
    trigger = eio._trigger_event

    def in_order(event, *args, **kwargs):
        kwargs["run_async"] = False
        return trigger(event, *args, **kwargs)

    eio._trigger_event = in_order


@contextmanager
def server(max_jobs: int = 64):
    """``python -m webapp`` on a free port; yields (url, psutil process, log path)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    descriptor, log = tempfile.mkstemp(prefix="bpnet-load-", suffix=".log")
    with os.fdopen(descriptor, "w") as output:  # the server keeps its own copy
        process = subprocess.Popen(
            [sys.executable, "-m", "webapp", "--port", str(port), "--max-jobs", str(max_jobs)],
            stdout=output, stderr=subprocess.STDOUT, env=os.environ.copy(),
        )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the server did not start; see {log}") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", psutil.Process(process.pid), log
    finally:
        process.terminate()
        process.wait(timeout=15)


class Monitor:
    """Samples the server's RSS every 50 ms; CPU from its cumulative CPU times."""

    def __init__(self, process: psutil.Process):
        self.process = process
        self.peak_rss = process.memory_info().rss
        self._stop = threading.Event()
        self._cpu_start = self._cpu()
        self._wall_start = time.monotonic()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _cpu(self) -> float:
        times = self.process.cpu_times()
        return times.user + times.system

    def _sample(self) -> None:
        while not self._stop.wait(0.05):
            with suppress(psutil.Error):
                self.peak_rss = max(self.peak_rss, self.process.memory_info().rss)

    def stop(self) -> dict:
        self._stop.set()
        self._thread.join()
        wall = time.monotonic() - self._wall_start
        return {"cpu_percent": 100 * (self._cpu() - self._cpu_start) / wall,
                "peak_rss_mib": self.peak_rss / 2**20}  # fmt: skip


def percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def run(url: str, process: psutil.Process, configs: list[dict], timeout: float = 600) -> dict:
    """Connect one tab per config, start them together, wait for every job to end."""
    tabs = [Tab(url, config) for config in configs]
    try:
        rss_idle = process.memory_info().rss
        monitor = Monitor(process)
        started = time.monotonic()
        with ThreadPoolExecutor(len(tabs)) as pool:  # everyone presses Start at once
            list(pool.map(Tab.start, tabs))
        for tab in tabs:
            tab.finished.wait(max(0.0, timeout - (time.monotonic() - started)))
        wall = time.monotonic() - started
        usage = monitor.stop()
        time.sleep(0.2)  # let stragglers (a late event of some other job) arrive, if any
    finally:
        for tab in tabs:
            tab.close()
    latencies = [value for tab in tabs for value in tab.latencies()]
    return {
        "clients": len(tabs),
        "tabs": tabs,
        "completed": sum(tab.final_state() == "finished" for tab in tabs),
        "problems": {i: tab.problems() for i, tab in enumerate(tabs) if tab.problems()},
        "events": sum(len(tab.events) for tab in tabs),
        "epoch_events": len(latencies),
        "p50_ms": 1000 * percentile(latencies, 50),
        "p95_ms": 1000 * percentile(latencies, 95),
        "wall_s": wall,
        "rss_idle_mib": rss_idle / 2**20,
        **usage,
    }


HEADER = ("| clients | jobs | completed | events received | epoch events | latency p50 ms "
          "| latency p95 ms | wall s | server CPU % | server RSS idle → peak MiB |")  # fmt: skip


def row(result: dict, kinds: str) -> str:
    r = result
    return (
        f"| {r['clients']} | {kinds} | {r['completed']}/{r['clients']} | {r['events']} "
        f"| {r['epoch_events']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | {r['wall_s']:.1f} "
        f"| {r['cpu_percent']:.0f} | {r['rss_idle_mib']:.0f} → {r['peak_rss_mib']:.0f} |"
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 8, 16, 32])
    parser.add_argument("--mix", action="store_true", help="curve, surface and MNIST jobs in turn")
    parser.add_argument("--epochs", type=int, default=500, help="epochs of a curve job (500)")
    parser.add_argument("--max-jobs", type=int, default=64, help="the server's --max-jobs")
    args = parser.parse_args(argv)
    kinds = mix(args.epochs) if args.mix else [curve(args.epochs)]
    label = "curve / surface / mnist" if args.mix else "curve"
    print(f"cores: {psutil.cpu_count()}; jobs: {kinds}", flush=True)
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    failed = False
    for n in args.clients:
        with server(args.max_jobs) as (url, process, log):
            result = run(url, process, [kinds[i % len(kinds)] for i in range(n)])
            with open(log) as f:
                tracebacks = f.read().count("Traceback")
        print(row(result, label), flush=True)
        for index, found in result["problems"].items():
            failed = True
            print(f"  tab {index}: {'; '.join(found)}", file=sys.stderr)
        if tracebacks:
            failed = True
            print(f"  the server logged {tracebacks} traceback(s): {log}", file=sys.stderr)
        else:
            os.unlink(log)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
