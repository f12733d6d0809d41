"""The command line under Ctrl-C, odd flags and failing runs.

Ctrl-C is sent for real (SIGINT to a subprocess): the weights reached are saved, the
last line says ``stopped`` and the exit status is 130; a second Ctrl-C exits at once.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time

import pytest

import bpnet
from bpnet import cli
from bpnet.cli import main

TINY = ["--hidden", "8", "--n-train", "32", "--n-val", "16", "--grid", "20"]


def test_ctrl_c_saves_the_weights_reached_prints_stopped_and_exits_130(tmp_path):
    path = tmp_path / "weights.npz"
    process = subprocess.Popen(
        [sys.executable, "-m", "bpnet", "train", "curve", "--epochs", "100000", *TINY,
         "--save", str(path)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        first_line = process.stdout.readline()  # the first epoch's metrics: it is training
        assert first_line.startswith("epoch"), first_line
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, err
    assert "stopped after epoch" in out + err
    assert "interrupted" in out + err
    state = bpnet.load(path)
    assert state["0.weight"].shape == (8, 1)


class _Endless:
    """A stand-in job that never ends by itself and counts the stops it is asked for."""

    def __init__(self):
        self.stops = 0
        self.state = "running"

    def run(self, emit):
        threading.Event().wait(60)

    def stop(self, reason=""):
        self.stops += 1


def test_a_second_ctrl_c_exits_at_once_without_waiting_for_the_job(monkeypatch):
    def exit_now(code):
        raise SystemExit(code)

    monkeypatch.setattr(cli.os, "_exit", exit_now)
    job = _Endless()

    def press_ctrl_c_twice():
        for _ in range(2):
            time.sleep(0.3)
            signal.raise_signal(signal.SIGINT)

    # raise_signal from another thread still runs the handler in the main thread
    threading.Thread(target=press_ctrl_c_twice, daemon=True).start()
    with pytest.raises(SystemExit) as caught:
        cli._run_until_done(job, print)
    assert caught.value.code == 130
    assert job.stops == 1  # the first press asked the job to stop; the second left


def test_x_range_accepts_a_negative_first_value(capsys):
    code = main(["train", "curve", "--x-range", "-5,5", "--epochs", "1", *TINY, "--json"])
    assert code == 0
    dataset = next(
        json.loads(line) for line in capsys.readouterr().out.splitlines()
        if json.loads(line)["event"] == "dataset"
    )  # fmt: skip
    assert dataset["config"]["x_range"] == [-5.0, 5.0]


def test_help_shows_list_defaults_as_they_are_typed(capsys):
    with pytest.raises(SystemExit):
        main(["train", "mnist", "--help"])
    help_text = capsys.readouterr().out
    assert "256,128" in help_text
    assert "[256, 128]" not in help_text


def test_huge_losses_are_printed_in_scientific_notation():
    line = cli._metrics_line({
        "epoch": 3, "epochs": 10, "train_loss": 3.4974526257060905e28, "val_loss": 0.5,
        "lr": 0.1, "elapsed": 1.0,
    })  # fmt: skip
    assert "train_loss 3.4975e+28" in line
    assert "val_loss 0.50000" in line


DIVERGING = ["train", "curve", "--expr", "100*x^3", "--optimizer", "sgd", "--lr", "10",
             "--activation", "relu", "--epochs", "200"]  # fmt: skip


def test_a_failure_is_printed_once(capsys):
    assert main(DIVERGING) == 1
    captured = capsys.readouterr()
    assert (captured.out + captured.err).count("try a smaller learning rate") == 1


def test_json_lines_are_strict_json_even_when_the_run_diverges(capsys):
    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    assert main([*DIVERGING, "--json"]) == 1
    lines = capsys.readouterr().out.splitlines()
    events = [json.loads(line, parse_constant=refuse) for line in lines]
    assert events[-1]["state"] == "failed"
