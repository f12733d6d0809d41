"""How long the backprop inspector takes: ``inspect`` and ``gradcheck`` on MNIST networks,
the default one and the largest the config allows, against their 0.5 s budget.

``python -m benchmarks.inspector`` builds each network with its optimizer, trains two
batches (so Adam-like state exists), then times ``inspect_batch`` over all layers and
``gradcheck`` of k = 5 weights of each layer, the median of a few runs. A request the
inspector refuses (its estimate is past the budget) is printed as refused with its reason.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from bpnet import nn
from bpnet.engine import gradcheck, inspect, parse_config
from bpnet.engine.tasks import build_mlp, build_optimizer
from bpnet.errors import ConfigError

from . import describe_machine

NETWORKS = {
    "default 784-256-128-10": [256, 128],
    "largest 784-6x1024-10": [1024] * 6,
}


def timed(call, repeats: int) -> str:
    try:
        seconds = []
        for _ in range(repeats):
            start = time.perf_counter()
            call()
            seconds.append(time.perf_counter() - start)
    except ConfigError as exc:
        return f"refused ({exc.message[:70]}…)"
    return f"{statistics.median(seconds):.3f} s"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one small network, one run")
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args(argv)
    networks = {"small 784-32-10": [32]} if args.quick else NETWORKS
    repeats = 1 if args.quick else 5
    print("\n".join(describe_machine()))
    rng = np.random.default_rng(0)
    x = rng.random((args.batch_size, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.batch_size)
    for name, hidden in networks.items():
        print(f"{name}, batch {args.batch_size}, adam:")
        measure(hidden, x, y, rng, repeats)


def measure(hidden: list[int], x: np.ndarray, y: np.ndarray, rng, repeats: int) -> None:
    """Time an inspection and a check of each layer of a 784-hidden-10 ReLU network."""
    config = parse_config({"task": "mnist", "hidden": hidden, "optimizer": "adam"})
    model = build_mlp([784, *hidden, 10], "relu", rng)
    optimizer = build_optimizer(config, model.parameters())
    criterion = nn.CrossEntropyLoss()
    for _ in range(2):
        optimizer.zero_grad()
        criterion(model(x), y)
        model.backward(criterion.backward(), input_grad=False)
        optimizer.step()

    def look():
        inspect.inspect_batch(model, criterion, optimizer, x, y)

    print(f"  inspect, all layers: {timed(look, repeats)}")
    for layer in range(len(hidden) + 1):

        def check(layer=layer):
            gradcheck.gradcheck(model, criterion, x, y, layer, 5, rng)

        print(f"  gradcheck Linear {layer + 1}, k=5: {timed(check, repeats)}")


if __name__ == "__main__":
    main()
