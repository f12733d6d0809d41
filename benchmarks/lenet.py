"""Train a LeNet-style convolutional network with bpnet and with PyTorch, step by step.

Both start from the same weights (PyTorch loads bpnet's state dict) and train on the same
MNIST batches; their steps alternate in one process (bpnet then PyTorch, then PyTorch then
bpnet, …), so a CPU that stalls slows both alike. Run ``python -m benchmarks.lenet``
(``--quick`` for a smoke run, ``--profile`` for where bpnet's step spends its time).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from collections import defaultdict

import numpy as np

from bpnet import nn, optim
from bpnet.data import DataLoader
from bpnet.datasets import load_mnist

from . import describe_machine, import_torch, limit_threads

BATCH_SIZE = 64
LR, MOMENTUM = 0.01, 0.9


def lenet(generator: np.random.Generator | None = None) -> nn.Sequential:
    """conv 1→8 5×5 pad 2, ReLU, maxpool 2; conv 8→16 5×5, ReLU, maxpool 2; Flatten;
    Linear 400→120, ReLU; Linear 120→10. (N, 1, 28, 28) -> (N, 10)."""
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2, generator=generator), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5, generator=generator), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(),
        nn.Linear(400, 120, generator=generator), nn.ReLU(),
        nn.Linear(120, 10, generator=generator),
    )  # fmt: skip


def torch_lenet(torch):
    T = torch.nn
    return T.Sequential(
        T.Conv2d(1, 8, 5, padding=2), T.ReLU(), T.MaxPool2d(2),
        T.Conv2d(8, 16, 5), T.ReLU(), T.MaxPool2d(2),
        T.Flatten(),
        T.Linear(400, 120), T.ReLU(),
        T.Linear(120, 10),
    )  # fmt: skip


class BpnetRun:
    """bpnet's training step, written as a user writes it."""

    label = "bpnet"

    def __init__(self, seed: int):
        self.model = lenet(np.random.default_rng(seed))
        self.optimizer = optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)
        self.criterion = nn.CrossEntropyLoss()

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.optimizer.zero_grad()
        loss = self.criterion(self.model(x), y)
        self.model.backward(self.criterion.backward(), input_grad=False)
        self.optimizer.step()
        return float(loss)


class TorchRun:
    """The same network, weights and batches in PyTorch's idiomatic step."""

    label = "PyTorch"

    def __init__(self, torch, weights: dict):
        self.torch = torch
        self.model = torch_lenet(torch)
        self.model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        self.optimizer = torch.optim.SGD(self.model.parameters(), lr=LR, momentum=MOMENTUM)

    def step(self, x: np.ndarray, y: np.ndarray) -> float:
        self.optimizer.zero_grad()
        loss = self.torch.nn.functional.cross_entropy(
            self.model(self.torch.from_numpy(x)), self.torch.from_numpy(y)
        )
        loss.backward()
        self.optimizer.step()
        return loss.item()


def batches(seed: int, count: int):
    """``count`` shuffled MNIST batches as (64, 1, 28, 28) float32 images and int64 labels."""
    images, labels = load_mnist("train")
    order = np.random.default_rng(seed).permutation(len(images))
    for step in range(count):
        index = order[(step * BATCH_SIZE) % len(order) :][:BATCH_SIZE]
        yield images[index].reshape(-1, 1, 28, 28), labels[index]


def compare(torch, args) -> None:
    bpnet_run = BpnetRun(args.seed)
    contenders = [bpnet_run]
    if torch is not None:
        weights = {k: np.array(v) for k, v in bpnet_run.model.state_dict().items()}
        contenders.append(TorchRun(torch, weights))
    times = defaultdict(list)
    losses = defaultdict(list)
    for step, (x, y) in enumerate(batches(args.seed, args.warmup + args.steps)):
        for contender in contenders if step % 2 == 0 else reversed(contenders):
            start = time.perf_counter()
            losses[contender.label].append(contender.step(x, y))
            if step >= args.warmup:
                times[contender.label].append(time.perf_counter() - start)
    print(f"\n{'':<10}{'median ms':>10}{'min ms':>10}{'max ms':>10}{'last loss':>11}")
    for label, measured in times.items():
        ms = [t * 1e3 for t in measured]
        print(f"{label:<10}{statistics.median(ms):>10.2f}{min(ms):>10.2f}{max(ms):>10.2f}"
              f"{losses[label][-1]:>11.4f}")  # fmt: skip
    if torch is not None:
        mine, theirs = times["bpnet"], times["PyTorch"]
        per_step = sorted(a / b for a, b in zip(mine, theirs))
        print(
            f"bpnet/PyTorch: median {statistics.median(mine) / statistics.median(theirs):.2f}, "
            f"min {min(mine) / min(theirs):.2f}, median of per-step ratios "
            f"{statistics.median(per_step):.2f} (target <= 1.3)"
        )
    print("load average at the end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))


def profile(args) -> None:
    """Time each of bpnet's layers forward and backward, the loss and the optimizer: medians
    over the steps, so that a stall of the shared machine does not count."""
    run = BpnetRun(args.seed)
    model, criterion, optimizer = run.model, run.criterion, run.optimizer
    spent = defaultdict(list)

    def timed(name, function, *arguments, **keywords):
        start = time.perf_counter()
        result = function(*arguments, **keywords)
        spent[name].append(time.perf_counter() - start)
        return result

    for step, (x, y) in enumerate(batches(args.seed, args.warmup + args.steps)):
        if step == args.warmup:
            spent.clear()
        timed("optimizer zero_grad", optimizer.zero_grad)
        out = x
        for index, layer in enumerate(model):
            out = timed(f"{index} {layer!r} forward", layer, out)
        timed("loss forward", criterion, out, y)
        grad = timed("loss backward", criterion.backward)
        for index in reversed(range(len(model))):
            layer, keywords = model[index], ({"input_grad": False} if index == 0 else {})
            grad = timed(f"{index} {layer!r} backward", layer.backward, grad, **keywords)
        timed("optimizer step", optimizer.step)
    medians = {name: statistics.median(times) for name, times in spent.items()}
    total = sum(medians.values())
    print(f"\nbpnet step, median per part over {args.steps} steps: {total * 1e3:.2f} ms in all")
    for name, seconds in sorted(medians.items(), key=lambda item: -item[1]):
        print(f"  {seconds * 1e3:7.3f} ms  {seconds / total:6.1%}  {name}")


def accuracy(args) -> None:
    """Train bpnet's LeNet on MNIST, batch 64, the learning rate annealed to 0 by a cosine over
    the epochs; print the test accuracy and the wall time after each epoch."""
    model = lenet(np.random.default_rng(args.seed))
    criterion = nn.CrossEntropyLoss()
    if args.optimizer == "adam":
        optimizer, recipe = optim.Adam(model.parameters(), lr=1e-3), "Adam lr 1e-3"
    else:
        optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9, nesterov=True)
        recipe = "SGD lr 0.05, Nesterov momentum 0.9"
    scheduler = optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=args.accuracy)
    images, labels = load_mnist("train")
    test_images, test_labels = load_mnist("test")
    loader = DataLoader(
        images.reshape(-1, 1, 28, 28), labels, batch_size=BATCH_SIZE, shuffle=True,
        generator=np.random.default_rng(args.seed),
    )  # fmt: skip
    print(f"\n{recipe}, cosine to 0 over {args.accuracy} epochs, batch {BATCH_SIZE}")
    print(f"  {'epoch':<6}{'train loss':>11}{'test acc':>10}{'wall s':>9}")
    start = time.perf_counter()
    for epoch in range(1, args.accuracy + 1):
        model.train()
        total = 0.0
        for xb, yb in loader:
            optimizer.zero_grad()
            total += float(criterion(model(xb), yb)) * len(yb)
            model.backward(criterion.backward(), input_grad=False)
            optimizer.step()
        scheduler.step()
        model.eval()
        predictions = np.concatenate([
            model(test_images[i : i + 1000].reshape(-1, 1, 28, 28)).argmax(axis=1)
            for i in range(0, len(test_images), 1000)
        ])  # fmt: skip
        print(f"  {epoch:<6}{total / len(images):>11.4f}{(predictions == test_labels).mean():>10.2%}"
              f"{time.perf_counter() - start:>9.1f}", flush=True)  # fmt: skip


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.lenet", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--steps", type=int, default=400, help="timed steps (default 400)")
    parser.add_argument("--warmup", type=int, default=30, help="untimed first steps")
    parser.add_argument("--threads", type=int, default=2, help="BLAS and PyTorch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-torch", action="store_true", help="bpnet alone")
    parser.add_argument("--profile", action="store_true", help="bpnet's time per layer")
    parser.add_argument("--accuracy", type=int, metavar="EPOCHS",
                        help="instead: train bpnet's LeNet on MNIST for EPOCHS, test accuracy")  # fmt: skip
    parser.add_argument("--optimizer", choices=["adam", "sgd"], default="sgd",
                        help="with --accuracy: Adam lr 1e-3 or Nesterov SGD lr 0.05 (default)")  # fmt: skip
    args = parser.parse_args(argv)
    if args.quick:
        args.steps, args.warmup = min(args.steps, 20), min(args.warmup, 5)
    torch = import_torch(not args.no_torch)
    limit_threads(args.threads, torch)
    print("bpnet LeNet benchmark:", " ".join(sys.argv[1:]) or "(defaults)")
    for line in describe_machine(torch):
        print(line)
    if args.accuracy:
        return accuracy(args)
    print(f"LeNet-style network, batch {BATCH_SIZE}, float32, SGD lr {LR} momentum {MOMENTUM}; "
          f"steps alternate bpnet / PyTorch; {args.warmup} warm-up, {args.steps} timed",
          flush=True)  # fmt: skip
    if args.profile:
        profile(args)
    else:
        compare(torch, args)


if __name__ == "__main__":
    main()
