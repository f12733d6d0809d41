"""Threads in one process against worker processes through Redis: aggregate training speed.

For N = 1, 2, 4, 8 curve jobs (the page's default network) pressed at once, the
aggregate training steps per second — N × steps per job over the wall time from the
presses to the last ``finished`` — (a) embedded: ``python -m webapp`` runs them as threads;
(b) class mode: a redis-server, one ``python -m webapp --redis``, and ``bpnet worker
--processes 2``. Also the epoch events' latency (the event's ``time`` to its arrival)
p50 / p99 at the largest N. Then the same for 1 and ``--mnist`` MNIST jobs (the page's
default network, ``--mnist-epochs`` of ``--mnist-subset`` training images each). Everything
runs on 127.0.0.1; tabs check their events as ``benchmarks.load`` does; the load average is
printed before and after. Every process runs one BLAS thread (as ``bpnet worker`` sets for
its processes), so what differs is threads against processes.

    python -m benchmarks.class_mode [--clients 1 2 4 8] [--epochs 3000] [--workers 2]
                                    [--mnist 4] [--mnist-epochs 1] [--mnist-subset 6000]
"""

from __future__ import annotations

import argparse
import math
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager

from bpnet.engine import defaults

from .load import Tab, curve, percentile

MNIST_TRAIN = 60_000  # MNIST's training images, all used by the page's default job


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(port: int, process: subprocess.Popen, what: str) -> None:
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{what} did not start") from None
            time.sleep(0.05)


@contextmanager
def _process(command: list[str], port: int | None, what: str):
    # the web process and every worker process run numpy's BLAS on one thread by default,
    # so what is compared is threads against processes, not numpy's own threading
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        if port is not None:
            _wait(port, process, what)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=15)


@contextmanager
def embedded():
    port = _free_port()
    command = [sys.executable, "-m", "webapp", "--port", str(port), "--max-jobs", "64"]
    with _process(command, port, "the web process"):
        yield f"http://127.0.0.1:{port}"


@contextmanager
def class_mode(workers: int):
    redis_port, web_port = _free_port(), _free_port()
    url = f"redis://127.0.0.1:{redis_port}/0"
    folder = tempfile.mkdtemp(prefix="bpnet-bench-redis-")
    with ExitStack() as stack:
        stack.callback(shutil.rmtree, folder, True)
        redis = shutil.which("redis-server") or "/usr/bin/redis-server"
        stack.enter_context(_process(
            [redis, "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--dir", folder],
            redis_port, "redis-server",
        ))  # fmt: skip
        stack.enter_context(_process(
            [sys.executable, "-m", "bpnet", "worker", "--redis", url, "--processes", str(workers)],
            None, "bpnet worker",
        ))  # fmt: skip
        stack.enter_context(_process(
            [sys.executable, "-m", "webapp", "--port", str(web_port), "--redis", url,
             "--max-jobs", "64"],
            web_port, "the web process",
        ))  # fmt: skip
        time.sleep(3.0)  # the workers' imports
        yield f"http://127.0.0.1:{web_port}"


def steps_per_job(config: dict) -> int:
    """Training steps (mini-batches) one job of ``config`` takes."""
    d = {**defaults(config["task"]), **config}
    if config["task"] == "mnist":
        size = d["train_subset"] or MNIST_TRAIN
        return d["epochs"] * math.ceil(size / d["batch_size"])
    return d["epochs"] * math.ceil(d["n_train"] / d["batch_size"])


def run(url: str, clients: int, config: dict) -> dict:
    """N tabs press Start together; aggregate steps per second and latencies."""
    with ThreadPoolExecutor(max_workers=clients) as pool:
        tabs = list(pool.map(lambda _: Tab(url, config), range(clients)))
        started = time.monotonic()
        list(pool.map(lambda tab: tab.start(), tabs))
    for tab in tabs:
        tab.finished.wait(600)
    wall = time.monotonic() - started
    problems = [problem for tab in tabs for problem in tab.problems()]
    latencies = [x for tab in tabs for x in tab.latencies()]
    for tab in tabs:
        tab.close()
    steps = steps_per_job(config)
    return {"clients": clients, "steps_per_s": clients * steps / wall, "wall": wall,
            "p50_ms": 1000 * percentile(latencies, 50), "p99_ms": 1000 * percentile(latencies, 99),
            "problems": problems}  # fmt: skip


def table(results: dict, base: float) -> None:
    """× is over one job in threads; (×1) over one job in the same mode, when it ran."""
    own = {mode: rows[0]["steps_per_s"] for mode, rows in results.items() if rows[0]["clients"] == 1}
    print("| jobs | threads steps/s | × | workers steps/s | × (×1) | threads p50/p99 ms | "
          "workers p50/p99 ms |")  # fmt: skip
    print("|---|---|---|---|---|---|---|")
    for a, b in zip(results["threads"], results["workers"]):
        same = f" ({b['steps_per_s'] / own['workers']:.2f})" if "workers" in own else ""
        print(f"| {a['clients']} | {a['steps_per_s']:,.0f} | {a['steps_per_s'] / base:.2f} | "
              f"{b['steps_per_s']:,.0f} | {b['steps_per_s'] / base:.2f}{same} | "
              f"{a['p50_ms']:.1f} / {a['p99_ms']:.1f} | {b['p50_ms']:.1f} / {b['p99_ms']:.1f} |")  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="*", default=[1, 2, 4, 8])
    # 3,000 epochs (21,000 steps, several seconds a job): a job's start weighs little
    parser.add_argument("--epochs", type=int, default=3000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--mnist", type=int, default=4, help="MNIST jobs at once (0: none)")
    parser.add_argument("--mnist-epochs", type=int, default=1)
    parser.add_argument("--mnist-subset", type=int, default=6000, help="training images a job uses")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} at the start")
    runs = [(n, curve(args.epochs), "curve") for n in args.clients]
    mnist = {"task": "mnist", "epochs": args.mnist_epochs, "train_subset": args.mnist_subset}
    runs += [(1, mnist, "mnist"), (args.mnist, mnist, "mnist")] if args.mnist else []
    results: dict = {}
    for mode, serving in (("threads", embedded), ("workers", lambda: class_mode(args.workers))):
        with serving() as url:
            run(url, 1, curve(20))  # warm up: imports, first data
            if args.mnist:  # each worker process reads MNIST once, before the clock runs
                run(url, args.workers, {"task": "mnist", "epochs": 1, "train_subset": 500})
            for n, config, kind in runs:
                r = run(url, n, config)
                results.setdefault(kind, {}).setdefault(mode, []).append(r)
                print(f"{mode} {kind} {n}: {r['steps_per_s']:,.0f} steps/s, {r['wall']:.1f} s, "
                      f"p50 {r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms", file=sys.stderr,
                      flush=True)  # fmt: skip
    print(f"load average {os.getloadavg()[0]:.1f} at the end; {args.workers} worker processes")
    for kind, per_mode in results.items():
        base = per_mode["threads"][0]["steps_per_s"]
        what = (f"{args.epochs} epochs" if kind == "curve" else
                f"{args.mnist_epochs} epoch(s) of {args.mnist_subset} images")  # fmt: skip
        print(f"\n{kind} jobs, {what} each; × is relative to one job in threads "
              f"({base:,.0f} steps/s), (×1) to one job on the workers\n")  # fmt: skip
        table(per_mode, base)
    problems = [p for kind in results.values() for mode in kind.values() for r in mode
                for p in r["problems"]]  # fmt: skip
    if problems:
        print(f"\nPROBLEMS ({len(problems)}): {problems[:5]}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
