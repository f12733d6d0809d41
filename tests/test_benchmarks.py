"""The benchmark scripts still run (their --quick smoke modes); no timing is asserted."""

import importlib.util
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def run(*args: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def test_mnist_mlp_quick_reports_every_setup_against_the_floor():
    out = run("benchmarks.mnist_mlp", "--quick")
    for setup in ["784-256-128-10 b128", "784-256-128-10 b64", "784-100-10 b32", "784-100-10 b1"]:
        assert setup in out
    assert "kernel" in out and "floor" in out


def test_engine_overhead_quick_reports_a_ratio():
    out = run("benchmarks.engine_overhead", "--quick")
    assert "engine/bare" in out and "engine/bare per round" in out


def test_mnist_cnn_quick_reports_the_accuracy_and_its_target():
    out = run("benchmarks.mnist_cnn", "--quick")
    assert "final" in out and "99.0%" in out


def test_inspector_quick_times_inspect_and_gradcheck():
    out = run("benchmarks.inspector", "--quick")
    assert "inspect, all layers:" in out and "gradcheck Linear 2, k=5:" in out


def test_page_networks_quick_trains_both_pages_alike_in_bpnet_and_pytorch():
    out = run("benchmarks.page_networks", "--quick")
    assert "curve 1-64-64-1 b32" in out and "surface 2-64-64-1 b64" in out
    if importlib.util.find_spec("torch") is None:
        return  # bpnet alone: nothing to compare
    # a round's row: its name, then µs/step and loss for bpnet and for PyTorch. The same
    # initial weights and batches must give the same loss after every round.
    rows = [line.split() for line in out.splitlines() if re.match(r"  (warm-up|\d+) ", line)]
    assert len(rows) == 6  # --quick: a warm-up and 2 rounds per page
    for row in rows:
        bpnet_loss, torch_loss = float(row[2]), float(row[4])
        assert abs(bpnet_loss - torch_loss) <= 1e-3 * max(1.0, abs(torch_loss))
