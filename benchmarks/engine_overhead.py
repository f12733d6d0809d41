"""What the training engine costs on top of a bare training loop, and what the default MNIST
job reaches.

``python -m benchmarks.engine_overhead`` runs the default MNIST config one epoch at a time
through ``TrainingJob``, alternating with a bare loop that builds the same network with the
same optimizer, trains it on the same batches and measures it on the test set as the job does,
and reports the ratio of the two. Then it runs the whole default job and prints the test
accuracy after each epoch. The web page adds one layer more, the Socket.IO send:
``time_job(overrides, emit)`` times a job whose events go to any ``emit``, a socket's included.
"""

from __future__ import annotations

import argparse
import math
import os
import time
from collections.abc import Callable

import numpy as np

from bpnet.engine import TrainingJob, parse_config
from bpnet.engine.tasks import build_optimizer, build_task

from . import alternate, describe_machine, limit_threads, median_min, spread

Emit = Callable[[dict], object]
TARGET_ACCURACY = 0.98


def time_job(overrides: dict, emit: Emit | None = None) -> tuple[float, list[dict]]:
    """Run ``TrainingJob`` on the MNIST config with ``overrides``; returns the seconds ``run``
    took and the events it emitted (also handed to ``emit`` when one is given)."""
    events: list[dict] = []

    def record(event: dict) -> None:
        events.append(event)
        if emit is not None:
            emit(event)

    job = TrainingJob(parse_config({"task": "mnist", **overrides}))
    start = time.perf_counter()
    state = job.run(record)
    seconds = time.perf_counter() - start
    if state != "finished":
        raise RuntimeError(f"the job ended {state}: {job.message}")
    return seconds, events


def bare_loop(overrides: dict) -> float:
    """The loop a user writes by hand, on what the job would build; returns test accuracy."""
    config = parse_config({"task": "mnist", **overrides})
    task = build_task(config)  # the same data, batches, initial weights and optimizer
    model = task.build_model()
    optimizer = build_optimizer(config, model.parameters())
    for _ in range(config.epochs):
        for xb, yb in task.batches():
            optimizer.zero_grad()
            task.criterion(model(xb), yb)
            model.backward(task.criterion.backward(), input_grad=False)
            optimizer.step()
        # what the job reports each epoch, loss and accuracy, computed in chunks as it does
        chunks = range(0, len(task.x_val), 2048)
        logits = np.concatenate([model(task.x_val[i : i + 2048]) for i in chunks])
        task.criterion(logits, task.y_val)
        accuracy = float((logits.argmax(axis=1) == task.y_val).mean())
    return accuracy


def measure_overhead(overrides: dict, rounds: int, emit: Emit | None = None) -> dict:
    """Alternate job and bare loop ``rounds`` times (after one warm-up round each).

    Returns medians and minimums of each, the ratio of the medians, and the job's time over
    the bare loop's time of the same round, per round (``round_ratios``: wall clock, then
    process CPU time), which a neighbour that wakes up disturbs least.
    """
    wall, cpu = alternate(
        {"engine": lambda: time_job(overrides, emit), "bare": lambda: bare_loop(overrides)},
        rounds + 1,
    )
    engine, bare = median_min(wall["engine"][1:]), median_min(wall["bare"][1:])
    round_ratios = [
        [a / b for a, b in zip(times["engine"][1:], times["bare"][1:])] for times in (wall, cpu)
    ]
    return {
        "engine": engine,
        "bare": bare,
        "ratio": (engine[0] / bare[0], engine[1] / bare[1]),
        "round_ratios": round_ratios,
    }


def report_accuracy(overrides: dict) -> None:
    """Run one whole job and say when it first reaches ``TARGET_ACCURACY``."""
    seconds, events = time_job(overrides)
    epochs = [e for e in events if e["event"] == "epoch"]
    print(f"\nThe job {overrides or 'with the default config'} (seconds on the job's clock):")
    print(f"  {'epoch':>5}  {'elapsed s':>9}  {'train loss':>10}  {'test loss':>9}  test acc")
    for e in epochs:
        print(f"  {e['epoch']:>5}  {e['elapsed']:>9.2f}  {e['train_loss']:>10.4f}  "
              f"{e['val_loss']:>9.4f}  {e['val_accuracy']:.2%}")  # fmt: skip
    reached = next((e for e in epochs if e["val_accuracy"] >= TARGET_ACCURACY), None)
    best = max(epochs, key=lambda e: e["val_accuracy"])
    if reached:
        print(f"  reached {TARGET_ACCURACY:.1%} at epoch {reached['epoch']}, after "
              f"{reached['elapsed']:.1f} s; best {best['val_accuracy']:.2%}; run() took "
              f"{seconds:.1f} s")  # fmt: skip
    else:
        print(f"  did not reach {TARGET_ACCURACY:.1%}: best {best['val_accuracy']:.2%} at epoch "
              f"{best['epoch']}; run() took {seconds:.1f} s")  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.engine_overhead", description=__doc__
    )
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--rounds", type=int, default=6, help="timed one-epoch jobs per side")
    parser.add_argument("--threads", type=int, default=2, help="BLAS threads")
    parser.add_argument("--no-accuracy", action="store_true", help="skip the whole default job")
    args = parser.parse_args(argv)
    limit_threads(args.threads)
    print("bpnet engine overhead benchmark")
    for line in describe_machine()[:3]:
        print(line)

    unit = {"epochs": 1}
    if args.quick:
        unit, args.rounds = {"epochs": 1, "train_subset": 1000}, 2
    print(f"\nTrainingJob vs a bare loop, the default MNIST config with {unit}, alternated, "
          f"1 warm-up + {args.rounds} rounds:", flush=True)  # fmt: skip
    result = measure_overhead(unit, args.rounds)
    (engine_median, engine_min), (bare_median, bare_min) = result["engine"], result["bare"]
    print(f"  engine {engine_median:.3f} s (min {engine_min:.3f})   bare loop {bare_median:.3f} s "
          f"(min {bare_min:.3f})   engine/bare {result['ratio'][0]:.3f} "
          f"(min/min {result['ratio'][1]:.3f}): overhead "
          f"{100 * (result['ratio'][0] - 1):+.1f}%", flush=True)  # fmt: skip
    wall_ratios, cpu_ratios = result["round_ratios"]
    print(f"  engine/bare per round (min / median / max): wall {spread(wall_ratios)}, "
          f"CPU {spread(cpu_ratios)}", flush=True)  # fmt: skip
    print("  load average now: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    if not args.no_accuracy:
        report_accuracy({"epochs": 1, "train_subset": 1000} if args.quick else {})
    if not math.isfinite(result["ratio"][0]):
        raise SystemExit(1)


if __name__ == "__main__":
    main()
