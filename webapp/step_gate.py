"""One small training step at a time: many small jobs in the threads of one process.

A small network's step is dozens of numpy calls on tiny arrays, and most of them let go of
the interpreter lock and take it back. Jobs in threads then hand the lock to each other at
every call: 8 curve jobs trained at 0.18-0.28 x one job's speed in all (docs/load.md). Run
their steps one after another instead, in the order they asked, and each hand-over happens
once a step. Big steps (MNIST's) spend their time in matrix products that run in parallel
on the cores, so they keep running side by side.
"""

from __future__ import annotations

import collections
import contextlib
import threading

from bpnet.engine.budget import cost

# multiply-adds in a step's forward pass (batch_size x parameters) under which a step is
# Python-bound: the curve, surface and classify pages' networks (1e5-3e5), not MNIST's (1.5e7)
SMALL_STEP_WORK = 2**20


class StepGate:
    """A fair lock: one step at a time, steps in the order they asked (FIFO)."""

    def __init__(self):
        self._mutex = threading.Lock()
        self._waiting: collections.deque[threading.Lock] = collections.deque()
        self._held = False

    def __enter__(self) -> None:
        with self._mutex:
            if not self._held:
                self._held = True
                return
            turn = threading.Lock()
            turn.acquire()
            self._waiting.append(turn)
        turn.acquire()  # released by the step before us: the gate is handed over, held

    def __exit__(self, *exc_info) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().release()
            else:
                self._held = False


def gate_for(config, gate: StepGate):
    """``gate`` for a job whose steps are small, a no-op context for the others."""
    small = config.batch_size * cost(config).work < SMALL_STEP_WORK
    return gate if small else contextlib.nullcontext()
