""" "Show code": the generated bpnet script reproduces the job's losses, and its PyTorch twin
starts from the same first step; both pass ruff."""

import contextlib
import io
import os
import re
import runpy
import subprocess
import sys
from pathlib import Path

import pytest

from bpnet.engine import TrainingJob, parse_config
from bpnet.engine.codegen import scripts
from bpnet.engine.codegen.scripts import TORCH_PENALTIES
from bpnet.engine.config import OPTIMIZERS
from bpnet.engine.tasks.penalty import PENALTIES

ROOT = Path(__file__).resolve().parent.parent
SMALL = {
    "curve": {"task": "curve", "epochs": 3, "hidden": [16, 16], "n_train": 64, "n_val": 32},
    "surface": {"task": "surface", "epochs": 2, "hidden": [8], "n_train": 100, "grid": 6},
    "mnist": {"task": "mnist", "epochs": 1, "hidden": [16], "train_subset": 300, "lr": 0.1},
    "mnist-cnn": {"task": "mnist", "architecture": "cnn", "channels": [2, 4], "epochs": 1,
                  "train_subset": 200, "lr": 0.05},
    "classify": {"task": "classify", "epochs": 3, "n_samples": 120, "dataset": "spiral",
                 "noise": 0.1, "features": ["x", "y", "xy", "x2"], "regularization": "l2",
                 "reg_rate": 0.01},
}  # fmt: skip
OWN_POINTS = [[-2, 1, 0], [3, 2.5, 1], [1, -4, 1], [-5, -5, 0], [0.5, 0.25, 1], [4, -1, 0]]


def run_script(source: str, tmp_path: Path, name: str) -> dict:
    """Run a generated script as ``python name`` would (as ``__main__``, in its folder), in
    this process so that numpy, torch and MNIST are loaded once for all the scripts; returns
    its first-step loss and per-epoch train losses."""
    path = tmp_path / name
    path.write_text(source)
    printed, cwd = io.StringIO(), os.getcwd()
    os.chdir(tmp_path)
    try:
        with contextlib.redirect_stdout(printed):
            runpy.run_path(str(path), run_name="__main__")
    finally:
        os.chdir(cwd)
    output = printed.getvalue()
    first = float(re.search(r"first step loss (\S+)", output).group(1))
    epochs = [float(x) for x in re.findall(r"train_loss (\S+)", output)]
    return {"first_step": first, "train_loss": epochs}


def job_losses(config: dict) -> list[float]:
    job = TrainingJob(parse_config(config))
    job.run(lambda event: None)
    assert job.state == "finished", job.message
    return job.history.snapshot()["train_loss"]


def ruff(path: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "ruff", "check", "--config", str(ROOT / "pyproject.toml"), str(path)],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip


@pytest.mark.parametrize("task", SMALL)
def test_the_bpnet_script_prints_the_jobs_training_losses(task, tmp_path):
    config = SMALL[task]
    printed = run_script(scripts(parse_config(config))["bpnet"], tmp_path, "run.py")
    expected = job_losses(config)
    assert len(printed["train_loss"]) == config["epochs"]
    assert printed["train_loss"][0] == pytest.approx(expected[0], rel=1e-6, abs=1e-9)
    assert printed["train_loss"] == pytest.approx(expected, rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_and_the_schedule_are_reproduced(optimizer, tmp_path):
    config = {**SMALL["curve"], "optimizer": optimizer, "lr_schedule": "cosine",
              "weight_decay": 0.01, "activation": "leaky_relu"}  # fmt: skip
    printed = run_script(scripts(parse_config(config))["bpnet"], tmp_path, "run.py")
    assert printed["train_loss"] == pytest.approx(job_losses(config), rel=1e-6, abs=1e-9)


@pytest.mark.parametrize("task", SMALL)
def test_the_pytorch_twin_takes_the_same_first_step_and_trains(task, tmp_path, torch):
    config = {**SMALL[task], "epochs": 2 if task.startswith("mnist") else 4}
    source = scripts(parse_config(config))
    ours = run_script(source["bpnet"], tmp_path, "run.py")
    twin = run_script(source["torch"], tmp_path, "twin.py")
    assert twin["first_step"] == pytest.approx(ours["first_step"], rel=1e-5)
    assert twin["train_loss"][-1] < twin["train_loss"][0]
    assert twin["train_loss"] == pytest.approx(ours["train_loss"], rel=1e-3)


@pytest.mark.parametrize("task", SMALL)
def test_the_generated_code_passes_ruff(task, tmp_path):
    config = {**SMALL[task], "lr_schedule": "cosine", "optimizer": "nesterov"}
    for name, source in scripts(parse_config(config)).items():
        path = tmp_path / f"{name}.py"
        path.write_text(source)
        result = ruff(path)
        assert result.returncode == 0, result.stdout


def test_a_formula_is_written_as_a_string_literal_never_as_code():
    config = parse_config({"task": "curve", "expression": "x^2 + sin(3*x)"})
    source = scripts(config)["bpnet"]
    assert "'x^2 + sin(3*x)'," in source


@pytest.mark.parametrize("penalty", ["none", *PENALTIES])
def test_classify_on_your_own_points_with_each_penalty_is_reproduced_in_both(
    penalty, tmp_path, torch
):
    config = {"task": "classify", "epochs": 3, "dataset": "points", "points": OWN_POINTS,
              "features": ["x", "sinx", "y2"], "batch_size": 2, "regularization": penalty,
              "reg_rate": 0.05}  # fmt: skip
    source = scripts(parse_config(config))
    ours = run_script(source["bpnet"], tmp_path, "run.py")
    assert ours["train_loss"] == pytest.approx(job_losses(config), rel=1e-6, abs=1e-9)
    twin = run_script(source["torch"], tmp_path, "twin.py")
    assert twin["train_loss"] == pytest.approx(ours["train_loss"], rel=1e-4)
    for name, text in source.items():
        (tmp_path / f"{name}.py").write_text(text)
        assert ruff(tmp_path / f"{name}.py").returncode == 0, name


def test_every_penalty_has_a_torch_expression():
    assert set(TORCH_PENALTIES) == set(PENALTIES)


def test_the_cnn_script_builds_the_jobs_convolutions_on_images():
    config = parse_config(SMALL["mnist-cnn"])
    source = scripts(config)["bpnet"]
    assert "nn.Conv2d(1, 2, kernel_size=(5, 5)" in source
    assert ".reshape(-1, 1, 28, 28)" in source
