"""Train the same MNIST multilayer perceptron with bpnet and with PyTorch, side by side.

In each configuration both libraries start from the same initial weights and see the same
shuffled batches; their epochs alternate in one process with a replay of the step's matrix
products alone (the floor no numpy library can beat), so a CPU that stalls slows all three
alike. Figures are medians and minimums after a warm-up epoch. Run
``python -m benchmarks.mnist_mlp`` (``--quick`` for a smoke run); benchmarks/README.md explains
every column.
"""

from __future__ import annotations

import argparse
import dataclasses
import itertools
import json
import math
import os
import statistics
import subprocess
import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np

from bpnet import nn, optim
from bpnet.data import DataLoader
from bpnet.datasets import load_mnist

from . import describe_machine, import_torch, limit_threads, median_min

MOMENTUM = 0.9


@dataclass(frozen=True)
class Setup:
    """One network and batch size. ``steps``: timed steps per epoch (None: the whole set)."""

    sizes: tuple[int, ...]
    batch_size: int
    lr: float
    steps: int | None = None
    max_vs_torch: float | None = None  # the targets for bpnet's epoch
    max_vs_floor: float | None = None
    optimizer: str = "sgd"  # "sgd" (momentum 0.9) or "adam"
    activation: str = "relu"

    @property
    def name(self) -> str:
        extra = "" if self.optimizer == "sgd" else f" {self.optimizer}"
        extra += "" if self.activation == "relu" else f" {self.activation}"
        return _sizes_name(self.sizes) + f" b{self.batch_size}" + extra


def _sizes_name(sizes: tuple[int, ...]) -> str:
    hidden = sizes[1:-1]
    if len(hidden) > 2 and len(set(hidden)) == 1:  # 784-64x6-10
        return f"{sizes[0]}-{hidden[0]}x{len(hidden)}-{sizes[-1]}"
    return "-".join(map(str, sizes))


SETUPS = [
    Setup((784, 256, 128, 10), 128, lr=0.05, max_vs_torch=0.68, max_vs_floor=1.25),
    Setup((784, 256, 128, 10), 128, lr=1e-3, max_vs_torch=0.68, optimizer="adam"),
    Setup((784, 256, 128, 10), 64, lr=0.05),
    Setup((784, 100, 10), 32, lr=0.05, max_vs_torch=0.5),
    # one sample per step: lr 0.01 with momentum 0.9 is too noisy (~75% test accuracy)
    Setup((784, 100, 10), 1, lr=0.002, steps=10_000, max_vs_torch=0.3),
    Setup((784, *[64] * 6, 10), 64, lr=0.05, activation="tanh"),
]


@dataclass(frozen=True)
class Mnist:
    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @classmethod
    def load(cls) -> Mnist:
        return cls(*load_mnist("train"), *load_mnist("test"))  # float32 in [0, 1], int64


class BpnetRun:
    """bpnet's training loop, written as a user writes it."""

    label = "bpnet"

    def __init__(self, setup: Setup, data: Mnist, seed: int):
        init = np.random.default_rng(seed)
        layers: list[nn.Module] = []
        act = nn.Tanh if setup.activation == "tanh" else nn.ReLU
        for n_in, n_out in zip(setup.sizes[:-1], setup.sizes[1:]):
            layers += [nn.Linear(n_in, n_out, generator=init), act()]
        self.model = nn.Sequential(*layers[:-1])
        if setup.optimizer == "adam":
            self.optimizer = optim.Adam(self.model.parameters(), lr=setup.lr)
        else:
            self.optimizer = optim.SGD(self.model.parameters(), lr=setup.lr, momentum=MOMENTUM)
        self.criterion = nn.CrossEntropyLoss()
        self.loader = DataLoader(
            data.x_train, data.y_train, batch_size=setup.batch_size, shuffle=True,
            generator=np.random.default_rng(seed),
        )  # fmt: skip
        self.steps = setup.steps or len(self.loader)

    def epoch(self) -> None:
        # a fresh iteration draws a fresh order; islice stops early when steps is a slice
        for xb, yb in itertools.islice(self.loader, self.steps):
            # the README's loop, word for word
            self.optimizer.zero_grad()
            self.criterion(self.model(xb), yb)
            self.model.backward(self.criterion.backward())
            self.optimizer.step()

    def accuracy(self, data: Mnist) -> float:
        return float((self.model(data.x_test).argmax(axis=1) == data.y_test).mean())


class ExplicitInputGradRun(BpnetRun):
    """bpnet's loop with ``input_grad=False`` spelled out (the benchmark's loop before the
    README's became the fast one): ``--check-readme-loop`` times it against the README's."""

    label = "input_grad=False"

    def epoch(self) -> None:
        for xb, yb in itertools.islice(self.loader, self.steps):
            self.optimizer.zero_grad()
            self.criterion(self.model(xb), yb)
            self.model.backward(self.criterion.backward(), input_grad=False)
            self.optimizer.step()


class TorchRun:
    """The same network, weights and batches in PyTorch's idiomatic loop."""

    label = "PyTorch"

    def __init__(self, torch, setup: Setup, weights: dict, data: Mnist, seed: int):
        self.torch = torch
        layers = []
        act = torch.nn.Tanh if setup.activation == "tanh" else torch.nn.ReLU
        for n_in, n_out in zip(setup.sizes[:-1], setup.sizes[1:]):
            layers += [torch.nn.Linear(n_in, n_out), act()]
        self.model = torch.nn.Sequential(*layers[:-1])
        self.model.load_state_dict({k: torch.tensor(v) for k, v in weights.items()})
        if setup.optimizer == "adam":
            self.optimizer = torch.optim.Adam(self.model.parameters(), lr=setup.lr)
        else:
            self.optimizer = torch.optim.SGD(
                self.model.parameters(), lr=setup.lr, momentum=MOMENTUM
            )
        with warnings.catch_warnings():  # "not writable": bpnet's arrays are read-only, and
            warnings.simplefilter("ignore")  # nothing here writes to them
            self.x, self.y = torch.from_numpy(data.x_train), torch.from_numpy(data.y_train)
            self.x_test, self.y_test = torch.from_numpy(data.x_test), torch.from_numpy(data.y_test)
        self.order_rng = np.random.default_rng(seed)  # the same orders as bpnet's DataLoader
        self.batch_size = setup.batch_size
        self.steps = setup.steps or math.ceil(len(data.x_train) / setup.batch_size)

    def epoch(self) -> None:
        F, size = self.torch.nn.functional, self.batch_size
        order = self.torch.from_numpy(self.order_rng.permutation(len(self.x)))
        for step in range(self.steps):
            batch = order[step * size : (step + 1) * size]
            self.optimizer.zero_grad()
            loss = F.cross_entropy(self.model(self.x[batch]), self.y[batch])
            loss.backward()
            self.optimizer.step()

    def accuracy(self, data: Mnist) -> float:
        with self.torch.no_grad():
            predictions = self.model(self.x_test).argmax(dim=1)
        return float((predictions == self.y_test).float().mean())


class SklearnRun:
    """scikit-learn's MLPClassifier on the same network and batch size, one ``partial_fit``
    (one shuffled pass over the data) per epoch; SGD with momentum 0.9, no L2 penalty."""

    label = "scikit-learn"

    @classmethod
    def create(cls, setup: Setup, data: Mnist, seed: int):
        try:
            from sklearn.neural_network import MLPClassifier
        except ImportError:
            print("  scikit-learn not installed (pip install scikit-learn): not compared")
            return None
        return cls(MLPClassifier, setup, data, seed)

    def __init__(self, MLPClassifier, setup: Setup, data: Mnist, seed: int):
        self.model = MLPClassifier(
            hidden_layer_sizes=setup.sizes[1:-1], solver="sgd", momentum=MOMENTUM,
            nesterovs_momentum=False, learning_rate_init=setup.lr, batch_size=setup.batch_size,
            alpha=0.0, shuffle=True, random_state=seed,
        )  # fmt: skip
        self.data = data
        self.classes = np.arange(10)

    def epoch(self) -> None:
        self.model.partial_fit(self.data.x_train, self.data.y_train, classes=self.classes)

    def accuracy(self, data: Mnist) -> float:
        return float(self.model.score(data.x_test, data.y_test))


class MatmulFloor:
    """The step's matrix products alone, replayed into preallocated arrays: per layer the
    forward ``a @ W.T``, ``dW = g.T @ a`` and (except the first layer) ``dx = g @ W``."""

    label = "floor"

    def __init__(self, setup: Setup, steps: int):
        rng = np.random.default_rng(0)
        pairs = list(zip(setup.sizes[:-1], setup.sizes[1:]))
        self.weights = [rng.uniform(-0.05, 0.05, (n_out, n_in)).astype(np.float32)
                        for n_in, n_out in pairs]  # fmt: skip
        self.weight_grads = [np.empty_like(w) for w in self.weights]
        self.acts = [rng.random((setup.batch_size, n), dtype=np.float32) for n in setup.sizes]
        self.grads = [rng.random((setup.batch_size, n), dtype=np.float32) for n in setup.sizes]
        self.steps = steps

    def epoch(self) -> None:
        acts, grads = self.acts, self.grads
        for _ in range(self.steps):
            for i, w in enumerate(self.weights):
                np.matmul(acts[i], w.T, out=acts[i + 1])
            for i in reversed(range(len(self.weights))):
                _outer_safe_product(grads[i + 1].T, acts[i], out=self.weight_grads[i])
                if i > 0:
                    np.matmul(grads[i + 1], self.weights[i], out=grads[i])


def _outer_safe_product(a: np.ndarray, b: np.ndarray, out: np.ndarray) -> None:
    # With one row per batch, dW = g.T @ a is an outer product (inner dimension 1), which
    # np.matmul computes in a plain C loop, ten times slower than BLAS; np.dot calls sgemm.
    (np.dot if a.shape[1] == 1 else np.matmul)(a, b, out=out)


def run_setup(setup: Setup, data: Mnist, torch, args) -> dict:
    bpnet_run = BpnetRun(setup, data, args.seed)
    contenders = [bpnet_run]
    if args.check_readme_loop:
        contenders.append(ExplicitInputGradRun(setup, data, args.seed))
    if torch is not None:
        weights = {k: np.array(v) for k, v in bpnet_run.model.state_dict().items()}
        contenders.append(TorchRun(torch, setup, weights, data, args.seed))
    # a partial_fit is a whole epoch, so not in --quick's shortened epochs
    if setup.name == "784-100-10 b32" and not (args.no_sklearn or args.quick):
        sklearn_run = SklearnRun.create(setup, data, args.seed)
        if sklearn_run is not None:
            contenders.append(sklearn_run)
    contenders.append(MatmulFloor(setup, bpnet_run.steps))
    full_steps = math.ceil(len(data.x_train) / setup.batch_size)
    scale = full_steps / bpnet_run.steps  # seconds per slice -> seconds per full epoch
    slice_note = (
        f"; each epoch times {bpnet_run.steps:,} of its {full_steps:,} steps (a fresh shuffled "
        f"slice), reported x{scale:.4g} as s/epoch"
        if scale != 1 else ""
    )  # fmt: skip
    print(f"\n{setup.name}: lr {setup.lr}, momentum {MOMENTUM}{slice_note}", flush=True)
    header = "".join(f"{c.label + ' s/epoch':>22}{'test acc':>10}" for c in contenders[:-1])
    print(f"  {'epoch':<8}{header}{'floor s':>10}", flush=True)

    times = {c.label: [] for c in contenders}
    cpu = {c.label: [] for c in contenders}  # process CPU seconds: what a busy neighbour
    accuracy = {c.label: [] for c in contenders[:-1]}  # steals shows in wall time only
    for epoch in range(args.warmup + args.epochs):
        for contender in contenders if epoch % 2 == 0 else reversed(contenders):
            start, start_cpu = time.perf_counter(), time.process_time()
            contender.epoch()
            times[contender.label].append((time.perf_counter() - start) * scale)
            cpu[contender.label].append((time.process_time() - start_cpu) * scale)
        row = ""
        for contender in contenders[:-1]:  # measured after the epoch, outside its time
            accuracy[contender.label].append(contender.accuracy(data))
            row += f"{times[contender.label][-1]:>22.3f}{accuracy[contender.label][-1]:>10.2%}"
        name = "warm-up" if epoch < args.warmup else str(epoch - args.warmup + 1)
        print(f"  {name:<8}{row}{times['floor'][-1]:>10.3f}", flush=True)

    result = {"setup": setup, "scale": scale, "accuracy": accuracy}
    for label, measured in times.items():
        result[label] = median_min(measured[args.warmup :])
    for peer in [c.label for c in contenders[1:]]:  # bpnet's epoch over the peer's, round by round
        for kind, source in (("wall", times), ("cpu", cpu)):
            ratios = [a / b for a, b in zip(source["bpnet"], source[peer])][args.warmup :]
            result[f"ratios {kind} {peer}"] = ratios
    if args.memory:
        for contender in [c for c in contenders if c.label in ("bpnet", "PyTorch")]:
            result[f"memory {contender.label}"] = probe_memory(contender.label, setup, args)
    return result


# --- peak memory, measured in a child process per library -------------------------------------


def probe_memory(label: str, setup: Setup, args) -> dict | None:
    """Peak RSS of a fresh process that trains ``setup`` with one library for a few steps."""
    index = next(i for i, s in enumerate(SETUPS) if s.name == setup.name)
    command = [sys.executable, "-m", "benchmarks.mnist_mlp", "--probe-memory", label,
               "--probe-setup", str(index), "--threads", str(args.threads)]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        print(f"  memory probe for {label} failed: {done.stderr.strip()[-300:]}")
        return None
    return json.loads(done.stdout.strip().splitlines()[-1])


def _status_mb(field: str) -> float:
    with open("/proc/self/status") as status:
        line = next(line for line in status if line.startswith(field + ":"))
    return int(line.split()[1]) / 1024  # the kernel counts in kB


def memory_probe_main(label: str, setup: Setup, threads: int) -> None:
    """In the child: build everything, reset the kernel's peak-RSS mark, train, read it."""
    torch = import_torch(label == "PyTorch")
    limit_threads(threads, torch)
    data = Mnist.load()
    setup = dataclasses.replace(setup, steps=min(200, setup.steps or 200))
    run = BpnetRun(setup, data, 0)
    if torch is not None:
        weights = {k: np.array(v) for k, v in run.model.state_dict().items()}
        run = TorchRun(torch, setup, weights, data, 0)
    before = _status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets VmHWM (the peak) to the current RSS
    run.epoch()
    peak = _status_mb("VmHWM")
    print(json.dumps({"peak_mb": peak, "training_mb": peak - before}))


# --- the report ---------------------------------------------------------------------------------


def print_summary(results: list[dict], has_torch: bool) -> None:
    print("\nSummary (seconds per epoch of 60,000 images: median / min after warm-up)")
    columns = ["setup", "bpnet s", "PyTorch s", "bpnet/PyTorch", "floor s", "bpnet/floor",
               "test acc bpnet / PyTorch", "peak RSS MB (training +MB) bpnet / PyTorch"]  # fmt: skip
    rows = []
    for r in results:
        setup, bp, floor = r["setup"], r["bpnet"], r["floor"]
        torch_times = r.get("PyTorch")
        vs_torch = (bp[0] / torch_times[0], bp[1] / torch_times[1]) if torch_times else None
        vs_floor = (bp[0] / floor[0], bp[1] / floor[1])
        accuracies = [r["accuracy"][k][-1] for k in ("bpnet", "PyTorch") if k in r["accuracy"]]
        memories = [r.get(f"memory {k}") for k in ("bpnet", "PyTorch") if k in r["accuracy"]]
        rows.append([
            setup.name + (" *" if r["scale"] != 1 else ""),
            _pair(bp, "{:.3f}"),
            _pair(torch_times, "{:.3f}"),
            _pair(vs_torch, "{:.2f}") + _target(vs_torch, setup.max_vs_torch),
            _pair(floor, "{:.3f}"),
            _pair(vs_floor, "{:.2f}") + _target(vs_floor, setup.max_vs_floor),
            " / ".join(f"{a:.2%}" for a in accuracies),
            " / ".join("n/a" if m is None else f"{m['peak_mb']:.0f} (+{m['training_mb']:.0f})"
                       for m in memories),
        ])  # fmt: skip
    widths = [max(len(str(row[i])) for row in [columns, *rows]) for i in range(len(columns))]
    for row in [columns, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())
    print("\nbpnet's epoch / the peer's, per alternated round (min / median / max; wall clock,"
          " then process CPU time):")  # fmt: skip
    for r in results:
        for key in [k for k in r if k.startswith("ratios wall ")]:
            peer = key.removeprefix("ratios wall ")
            spread = [_spread(r[key]), _spread(r[f"ratios cpu {peer}"])]
            print(f"  {r['setup'].name:<28} / {peer:<13} wall {spread[0]}   CPU {spread[1]}")
    print("load average at the end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))
    if any(r["scale"] != 1 for r in results):
        print("* timed on a slice of each epoch and scaled to a full epoch (see above)")
    if not has_torch:
        print("PyTorch not compared (--no-torch, or not installed: pip install torch==2.13.0)")


def _spread(ratios: list[float]) -> str:
    ordered = sorted(ratios)
    return f"{ordered[0]:.2f} / {statistics.median(ordered):.2f} / {ordered[-1]:.2f}"


def _pair(values, form: str) -> str:
    return "-" if values is None else f"{form.format(values[0])} / {form.format(values[1])}"


def _target(ratio, limit) -> str:
    """The issue's target, judged on the medians and on the minimums (a stall can spoil one)."""
    if ratio is None or limit is None:
        return ""
    median_ok, min_ok = ratio[0] <= limit, ratio[1] <= limit
    if median_ok == min_ok:
        verdict = "ok" if median_ok else "MISSED"
    else:
        verdict = f"median {'ok' if median_ok else 'MISSED'}, min {'ok' if min_ok else 'MISSED'}"
    return f" [<={limit}: {verdict}]"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.mnist_mlp", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds")
    parser.add_argument("--epochs", type=int, default=7, help="timed epochs (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first epochs")
    parser.add_argument("--threads", type=int, default=1,
                        help="BLAS and PyTorch threads (default 1: the comparison that holds "
                             "on a shared machine)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--only", type=int, nargs="+", metavar="N",
                        help=f"run only these setups, 1..{len(SETUPS)}")  # fmt: skip
    parser.add_argument("--no-torch", action="store_true", help="bpnet alone")
    parser.add_argument("--no-sklearn", action="store_true", help="skip scikit-learn")
    parser.add_argument("--check-readme-loop", action="store_true",
                        help="also time the loop with input_grad=False spelled out")  # fmt: skip
    parser.add_argument("--memory", action=argparse.BooleanOptionalAction, default=None,
                        help="measure peak memory in child processes (default: on unless --quick)")  # fmt: skip
    parser.add_argument("--probe-memory", help=argparse.SUPPRESS)
    parser.add_argument("--probe-setup", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.probe_memory:
        return memory_probe_main(args.probe_memory, SETUPS[args.probe_setup], args.threads)

    setups = [SETUPS[i - 1] for i in args.only] if args.only else SETUPS
    if args.quick:
        args.epochs, args.warmup = 1, 0  # a smoke run: every line printed, no figure to trust
        setups = [dataclasses.replace(s, steps=min(s.steps or 5, 5) * max(1, 32 // s.batch_size))
                  for s in setups]  # fmt: skip
    args.memory = not args.quick if args.memory is None else args.memory
    torch = import_torch(not args.no_torch)
    limit_threads(args.threads, torch)
    data = Mnist.load()
    print("bpnet MNIST MLP benchmark:", " ".join(sys.argv[1:]) or "(defaults)")
    for line in describe_machine(torch):
        print(line)
    print(f"data: {data.x_train.dtype} {data.x_train.shape}, weights float32; SGD momentum "
          f"{MOMENTUM}; epochs alternate bpnet / PyTorch / floor; {args.warmup} warm-up epoch(s), "
          f"then {args.epochs} timed", flush=True)  # fmt: skip
    results = []
    for setup in setups:
        results.append(run_setup(setup, data, torch, args))
    print_summary(results, torch is not None)


if __name__ == "__main__":
    main()
