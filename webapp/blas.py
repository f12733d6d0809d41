"""numpy's BLAS threads in a process that trains jobs side by side.

Every job is a thread (the web process) or a process (class mode's workers) of its own: BLAS
threads on top fight the jobs for the cores. Several job threads calling a multi-threaded
OpenBLAS at once stall each other (4 MNIST jobs trained at 0.23 × one job's speed in all,
docs/load.md), and one product on a loaded machine can take seconds, which is how long Stop
would wait.
"""

from __future__ import annotations

# numpy loads its BLAS when it is imported, and threadpoolctl can limit only a loaded library:
# called before, the limit silently did nothing (the server ran 2 BLAS threads per job)
import numpy  # noqa: F401
from threadpoolctl import threadpool_info, threadpool_limits

# the variables through which a user sets BLAS threads themselves (a worker then obeys them)
BLAS_THREADS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def limit_blas_threads(threads: int) -> None:
    """Run numpy's BLAS on ``threads`` threads in this process from now on."""
    threadpool_limits(threads, user_api="blas")


def blas_threads() -> list[int]:
    """The thread count of each BLAS library loaded in this process (what the tests check)."""
    return [pool["num_threads"] for pool in threadpool_info() if pool["user_api"] == "blas"]
