"""Benchmarks for bpnet: how fast it trains, next to PyTorch and to the cost of the matrix
products alone, and what the training engine adds on top of a bare loop.

This module holds what the benchmark scripts share: limiting the thread pools, describing the
machine and the BLAS that ran, and summarising repeated timings. See benchmarks/README.md.
"""

from __future__ import annotations

import os
import platform
import re
import statistics
import time
from collections.abc import Callable

import numpy as np


def import_torch(wanted: bool = True):
    """PyTorch if it is installed (and wanted), else None: every benchmark runs without it."""
    if not wanted:
        return None
    try:
        import torch
    except ImportError:
        return None
    return torch


def limit_threads(threads: int, torch=None) -> None:
    """Run numpy's BLAS (through threadpoolctl) and PyTorch on ``threads`` threads."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        print("threadpoolctl is not installed (pip install threadpoolctl): BLAS threads not set")
    else:
        threadpool_limits(limits=threads)  # applies now and stays for the process
    if torch is not None:
        torch.set_num_threads(threads)


def describe_machine(torch=None) -> list[str]:
    """Lines naming the CPU, the BLAS and kernel numpy runs (threadpoolctl), and PyTorch's."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as info:
            cpu = next(line.split(":", 1)[1].strip() for line in info if "model name" in line)
    except (OSError, StopIteration):
        pass
    lines = [
        f"machine: {cpu}, {os.cpu_count()} CPUs; Python {platform.python_version()}, "
        f"numpy {np.__version__}"
    ]
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        threadpool_info = list
    for pool in threadpool_info():
        if pool["user_api"] == "blas":
            lines.append(
                f"numpy BLAS: {pool['internal_api']} {pool['version']} ({pool['prefix']}), "
                f"kernel {pool.get('architecture', '?')}, {pool['num_threads']} threads"
            )
    blas_env = [f"{k}={v}" for k, v in sorted(os.environ.items()) if k.startswith("OPENBLAS_")]
    lines.append(
        "environment: "
        + (" ".join(blas_env) if blas_env else "no OPENBLAS_* variables")
        # other programs running: 2-thread BLAS then waits on a busy core and slows down
        + "; load average "
        + " ".join(f"{load:.2f}" for load in os.getloadavg())
    )
    if torch is not None:
        config = torch.__config__.show()
        mkl = re.search(r"Math Kernel Library Version ([\w.]+)", config)
        onednn = re.search(r"MKL-DNN (v[\w.]+)", config)
        lines.append(
            f"PyTorch {torch.__version__}: BLAS "
            f"{'MKL ' + mkl.group(1) if mkl else 'not MKL'}, oneDNN "
            f"{onednn.group(1) if onednn else 'no'}, CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}, {torch.get_num_threads()} threads"
        )
    else:
        lines.append("PyTorch: not installed (pip install torch==2.13.0 to compare)")
    return lines


def median_min(times: list[float]) -> tuple[float, float]:
    """The two figures quoted for repeated timings: the typical one and the best one."""
    return statistics.median(times), min(times)


def alternate(
    contenders: dict[str, Callable[[], object]], rounds: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Time each callable ``rounds`` times, interleaved (A B C, then C B A, …), so a CPU that
    stalls for a few seconds slows every contender alike instead of one of them.

    Returns ``({name: [wall seconds, …]}, {name: [process CPU seconds, …]})``: on a shared
    machine the CPU time is what a busy neighbour disturbs least.
    """
    wall: dict[str, list[float]] = {name: [] for name in contenders}
    cpu: dict[str, list[float]] = {name: [] for name in contenders}
    names = list(contenders)
    for round_index in range(rounds):
        for name in names if round_index % 2 == 0 else reversed(names):
            start, start_cpu = time.perf_counter(), time.process_time()
            contenders[name]()
            wall[name].append(time.perf_counter() - start)
            cpu[name].append(time.process_time() - start_cpu)
    return wall, cpu


def spread(values: list[float], form: str = "{:.3f}") -> str:
    """``min / median / max`` of ``values``, each formatted with ``form``."""
    ordered = sorted(values)
    return " / ".join(form.format(v) for v in (ordered[0], statistics.median(ordered), ordered[-1]))
