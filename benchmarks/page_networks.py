"""The curve and surface pages' networks, trained by bpnet and by PyTorch, step for step.

These networks are tiny (1-64-64-1 and 2-64-64-1, tanh, Adam, batches of 32 and 64), so a
step is a few dozen small array operations and the time goes to each library's per-call
overhead, not to arithmetic. The network, optimizer, data and batch size are the page's
defaults, taken from the engine's task configs; PyTorch gets the same initial weights and
the same batches. Rounds of ``--steps`` steps alternate (bpnet, PyTorch, then in reverse),
and the report is time per step and bpnet's round over PyTorch's round (min / median / max).
Run ``python -m benchmarks.page_networks``; benchmarks/README.md explains the columns.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
import warnings

import numpy as np

from bpnet import nn
from bpnet.data import DataLoader
from bpnet.engine.tasks import build_optimizer, build_task, parse_config

from . import describe_machine, import_torch, limit_threads, spread

PAGES = ("curve", "surface")  # the two regression pages, with their default configs


class BpnetRun:
    """The page's network and optimizer, trained with the README's loop."""

    label = "bpnet"

    def __init__(self, task_name: str, seed: int):
        self.config = parse_config({"task": task_name, "seed": seed})
        task = build_task(self.config)
        self.x, self.y = task.data.x_train, task.data.y_train
        self.sizes = task.model_sizes()
        self.model = task.build_model()
        self.optimizer = build_optimizer(self.config, self.model.parameters())
        self.criterion = nn.MSELoss()
        self.loader = DataLoader(
            self.x, self.y, batch_size=self.config.batch_size, shuffle=True,
            generator=np.random.default_rng(seed),
        )  # fmt: skip
        self.batches = iter(())
        self.loss = float("nan")

    def next_batch(self):
        batch = next(self.batches, None)
        if batch is None:  # an epoch is a few steps here: start the next one
            self.batches = iter(self.loader)
            batch = next(self.batches)
        return batch

    def run(self, steps: int) -> None:
        for _ in range(steps):
            xb, yb = self.next_batch()
            self.optimizer.zero_grad()
            loss = self.criterion(self.model(xb), yb)
            self.model.backward(self.criterion.backward())
            self.optimizer.step()
        self.loss = float(loss)


class TorchRun:
    """The same layers, optimizer settings, initial weights and batch orders in PyTorch."""

    label = "PyTorch"

    def __init__(self, torch, bpnet_run: BpnetRun, seed: int):
        self.torch = torch
        # mirror bpnet's layers and optimizer by their PyTorch names (Linear, Tanh, Adam…)
        layers = [
            torch.nn.Linear(m.in_features, m.out_features)
            if isinstance(m, nn.Linear)
            else getattr(torch.nn, type(m).__name__)()
            for m in bpnet_run.model
        ]
        self.model = torch.nn.Sequential(*layers)
        state = bpnet_run.model.state_dict()
        self.model.load_state_dict({k: torch.tensor(np.array(v)) for k, v in state.items()})
        group = bpnet_run.optimizer.param_groups[0]
        hyper = {k: v for k, v in group.items() if k != "params"}
        self.optimizer = getattr(torch.optim, type(bpnet_run.optimizer).__name__)(
            self.model.parameters(), **hyper
        )
        with warnings.catch_warnings():  # "not writable": nothing here writes to them
            warnings.simplefilter("ignore")
            self.x, self.y = torch.from_numpy(bpnet_run.x), torch.from_numpy(bpnet_run.y)
        self.batch_size = bpnet_run.config.batch_size
        self.order_rng = np.random.default_rng(seed)  # the same orders as bpnet's DataLoader
        self.order, self.position = None, len(self.x)
        self.loss = float("nan")

    def run(self, steps: int) -> None:
        F, size = self.torch.nn.functional, self.batch_size
        for _ in range(steps):
            if self.position >= len(self.x):
                self.order = self.torch.from_numpy(self.order_rng.permutation(len(self.x)))
                self.position = 0
            batch = self.order[self.position : self.position + size]
            self.position += size
            self.optimizer.zero_grad()
            loss = F.mse_loss(self.model(self.x[batch]), self.y[batch])
            loss.backward()
            self.optimizer.step()
        self.loss = loss.item()


def run_page(task_name: str, torch, args) -> dict:
    bpnet_run = BpnetRun(task_name, args.seed)
    contenders = [bpnet_run]
    if torch is not None:
        contenders.append(TorchRun(torch, bpnet_run, args.seed))
    config = bpnet_run.config
    sizes = "-".join(map(str, bpnet_run.sizes))
    print(
        f"\n{task_name}: {sizes} {config.activation}, {config.optimizer} lr {config.lr}, "
        f"batch {config.batch_size}, {len(bpnet_run.x)} training points; "
        f"rounds of {args.steps} steps",
        flush=True,
    )
    print(f"  {'round':<8}" + "".join(f"{c.label + ' µs/step':>18}{'loss':>9}" for c in contenders))
    wall = {c.label: [] for c in contenders}
    cpu = {c.label: [] for c in contenders}
    for round_index in range(args.warmup + args.rounds):
        for contender in contenders if round_index % 2 == 0 else reversed(contenders):
            start, start_cpu = time.perf_counter(), time.process_time()
            contender.run(args.steps)
            wall[contender.label].append((time.perf_counter() - start) / args.steps * 1e6)
            cpu[contender.label].append((time.process_time() - start_cpu) / args.steps * 1e6)
        name = "warm-up" if round_index < args.warmup else str(round_index - args.warmup + 1)
        row = "".join(f"{wall[c.label][-1]:>18.1f}{c.loss:>9.4f}" for c in contenders)
        print(f"  {name:<8}{row}", flush=True)
    result = {"name": f"{task_name} {sizes} b{config.batch_size}"}
    for label in wall:
        result[label] = [values[args.warmup :] for values in (wall[label], cpu[label])]
    return result


def print_summary(results: list[dict]) -> None:
    print("\nSummary (µs per step, min / median / max over the timed rounds; wall clock)")
    for r in results:
        line = f"  {r['name']:<26} bpnet {spread(r['bpnet'][0], '{:.0f}')}"
        if "PyTorch" in r:
            line += f"   PyTorch {spread(r['PyTorch'][0], '{:.0f}')}"
        print(line)
    if any("PyTorch" in r for r in results):
        print("bpnet's round / PyTorch's round (min / median / max; wall clock, then CPU time):")
    for r in results:
        if "PyTorch" in r:
            ratios = [
                [a / b for a, b in zip(r["bpnet"][kind], r["PyTorch"][kind])] for kind in (0, 1)
            ]
            print(
                f"  {r['name']:<26} wall {spread(ratios[0], '{:.2f}')}   CPU {spread(ratios[1], '{:.2f}')}"
            )
    print("load average at the end: " + " ".join(f"{load:.2f}" for load in os.getloadavg()))


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.page_networks", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="a smoke run of a second or two")
    parser.add_argument("--rounds", type=int, default=7, help="timed rounds (default 7)")
    parser.add_argument("--warmup", type=int, default=1, help="untimed first rounds")
    parser.add_argument("--steps", type=int, default=2000, help="steps per round (default 2000)")
    parser.add_argument("--threads", type=int, default=1, help="BLAS and PyTorch threads")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--no-torch", action="store_true", help="bpnet alone")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.warmup, args.steps = 2, 1, 50
    torch = import_torch(not args.no_torch)
    limit_threads(args.threads, torch)
    print(
        "bpnet page-network benchmark:",
        " ".join(sys.argv[1:] if argv is None else argv) or "(defaults)",
    )
    for line in describe_machine(torch):
        print(line)
    results = [run_page(name, torch, args) for name in PAGES]
    print_summary(results)


if __name__ == "__main__":
    main()
