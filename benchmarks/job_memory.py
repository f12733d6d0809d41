"""Peak memory and stop time of one job at the worst configs the server allows.

Each config runs in a fresh Python process: imports done and, for MNIST, the data set
loaded (it is shared by every job, so it belongs to the server's baseline), the RSS is
read; then the job trains two epochs with every event turned into JSON as the server
would, and the process's peak RSS (``ru_maxrss``) minus that baseline is the job's cost.
Then the job is started again and stopped at random moments (inside steps, evaluations
or the build); the time from ``stop()`` to ``run`` returning is the stop time.

    python -m benchmarks.job_memory            # every task's worst configs
    python -m benchmarks.job_memory --quick    # small configs: a smoke run
    python -m benchmarks.job_memory --only cnn # the rows that name "cnn"
    python -m benchmarks.job_memory --blas-threads 1   # numpy's BLAS on one thread
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import threading
import time

import psutil

from benchmarks import limit_threads
from bpnet.engine import ConfigError, TrainingJob, budget, parse_config

WIDEST = [1024] * 6


def largest_batch(config: dict) -> int:
    """The largest batch ``parse_config`` (the budget) allows for this config, up to the
    field's 4096: found by bisection, so the benchmark follows whatever the budget counts."""
    low, high = 1, 4096
    while low < high:
        middle = (low + high + 1) // 2
        try:
            parse_config({**config, "batch_size": middle})
            low = middle
        except ConfigError:
            high = middle - 1
    return low


def worst_configs() -> list[dict]:
    """Per task: the widest network at its largest batch, and a narrow one at the largest
    batch it allows; every count (points, validation set, grid) at its maximum. MNIST's
    CNN, each at its largest batch: the most channels (the step-work cap binds), the
    default ones, and [5, 4], the pair whose planned memory is the largest (the memory cap
    binds; found by trying every pair up to 32 x 32)."""
    configs = []
    for task in ("curve", "surface", "mnist"):
        for hidden in (WIDEST, [1024], [64]):
            config = {"task": task, "hidden": hidden, "optimizer": "adam", "epochs": 2}
            if task == "mnist":
                config |= {"train_subset": 2000}  # the epoch's length costs time, not memory
            else:
                config |= {"n_train": 100_000, "n_val": 100_000,
                           "grid": 2000 if task == "curve" else 100}  # fmt: skip
            configs.append({**config, "batch_size": largest_batch(config)})
    for channels in ([32, 32], [8, 16], [5, 4]):
        config = {"task": "mnist", "architecture": "cnn", "channels": channels,
                  "optimizer": "adam", "epochs": 2, "train_subset": 2000}  # fmt: skip
        configs.append({**config, "batch_size": largest_batch(config)})
    return configs


QUICK = [
    {"task": "curve", "hidden": [64, 64], "epochs": 2},
    {"task": "mnist", "hidden": [32], "train_subset": 500, "epochs": 1},
    {"task": "mnist", "architecture": "cnn", "channels": [2, 4], "train_subset": 200, "epochs": 1},
]


def measure(config: dict, stops: int) -> dict:
    """In this process: the job's peak memory above baseline, and its stop times."""
    parsed = parse_config(config)
    if parsed.task == "mnist":
        from bpnet.datasets import load_dataset

        load_dataset(parsed.dataset, "train")
        load_dataset(parsed.dataset, "test")
    baseline = psutil.Process().memory_info().rss
    job = TrainingJob(parsed)
    start = time.perf_counter()
    job.run(lambda event: json.dumps(event, allow_nan=False))
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux
    stop_times = []
    rng = random.Random(0)
    for _ in range(stops):
        job = TrainingJob(parse_config({**config, "epochs": 100_000}))
        thread = threading.Thread(target=job.run, args=(lambda event: None,))
        thread.start()
        time.sleep(rng.uniform(0.2, min(3.0, max(0.5, seconds))))
        asked = time.perf_counter()
        job.stop()
        thread.join()
        stop_times.append(time.perf_counter() - asked)
    return {"state": job.state, "seconds": seconds, "mib": (peak - baseline) / 2**20,
            "stop_max": max(stop_times, default=0.0)}  # fmt: skip


def describe(config: dict) -> str:
    hidden = config.get("hidden", [])
    net = f"{len(hidden)}x{hidden[0]}" if len(set(hidden)) == 1 else str(hidden)
    if config.get("architecture") == "cnn":
        net = "cnn channels {}x{}".format(*config["channels"])
    counts = "" if config["task"] == "mnist" else f", {config.get('n_train', '-')} points"
    return f"{config['task']} {net}, batch {config.get('batch_size', 'default')}{counts}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small configs, one stop each")
    parser.add_argument("--stops", type=int, default=5, help="stops timed per config (5)")
    parser.add_argument("--only", help="measure the configs whose row names this, e.g. cnn")
    parser.add_argument(
        "--blas-threads",
        type=int,
        help="numpy's BLAS threads in each job's process (default: its own)",
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)  # a config to measure, in a child
    args = parser.parse_args(argv)
    if args.one:
        if args.blas_threads:
            limit_threads(args.blas_threads)
        print(json.dumps(measure(json.loads(args.one), args.stops)))
        return 0
    configs, stops = (QUICK, 1) if args.quick else (worst_configs(), args.stops)
    configs = [c for c in configs if args.only is None or args.only in describe(c)]
    threads = ["--blas-threads", str(args.blas_threads)] if args.blas_threads else []
    print(f"BLAS threads per job process: {args.blas_threads or 'numpy default'}")
    print(f"per-job memory budget {budget.MEMORY_BUDGET / 2**20:.0f} MiB planned; "
          f"step work at most {budget.STEP_WORK:,} multiply-adds "
          f"({budget.CNN_STEP_WORK:,} for the cnn)")  # fmt: skip
    print("| config | two epochs s | peak above baseline MiB | slowest stop s |")
    print("|---|---|---|---|")
    worst_mib = worst_stop = 0.0
    for config in configs:
        child = subprocess.run(
            [sys.executable, "-m", "benchmarks.job_memory", "--one", json.dumps(config),
             "--stops", str(stops), *threads],
            capture_output=True, text=True, timeout=1800,
        )  # fmt: skip
        if child.returncode != 0:
            print(f"| {describe(config)} | failed: {child.stderr.strip()[-300:]} | | |")
            return 1
        result = json.loads(child.stdout.splitlines()[-1])
        worst_mib, worst_stop = max(worst_mib, result["mib"]), max(worst_stop, result["stop_max"])
        print(f"| {describe(config)} | {result['seconds']:.1f} | {result['mib']:.0f} | "
              f"{result['stop_max']:.3f} |", flush=True)  # fmt: skip
    print(f"worst: {worst_mib:.0f} MiB above baseline, slowest stop {worst_stop:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
