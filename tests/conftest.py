"""Shared fixtures for the core tests: PyTorch as an optional reference, and a fixed seed.

Helpers (the finite-difference checker, the torch mirror of a model) live in
``helpers.py`` so test files can import them by name.
"""

import numpy as np
import pytest
from live_server import Client, live_server

import bpnet


@pytest.fixture
def torch():
    """PyTorch, the reference implementation; tests that need it are skipped without it."""
    torch = pytest.importorskip("torch", reason="PyTorch not installed: pip install torch==2.13.0")
    # The tensors here are tiny: one thread is ten times faster than a contended pool.
    torch.set_num_threads(1)
    return torch


@pytest.fixture(autouse=True)
def _seed_bpnet():
    """Every test starts from the same default generator, whatever ran before it."""
    bpnet.manual_seed(0)


@pytest.fixture
def rng():
    """A fresh seeded generator for test data."""
    return np.random.default_rng(1234)


@pytest.fixture(scope="module")
def server():
    """The URL of a ``python -m webapp`` started for the test module (live_server.py); a
    module that needs other flags defines its own ``server``."""
    with live_server() as (url, _):
        yield url


@pytest.fixture
def client(server):
    """A Socket.IO client of the module's server, closed after the test."""
    client = Client(server)
    yield client
    client.close()
