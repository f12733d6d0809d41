"""The command line: each task trains from flags; bad flags exit 2 with one line."""

import json
import subprocess
import sys

import numpy as np
import pytest

import bpnet
from bpnet.cli import main


def test_curve_trains_and_prints_a_metrics_line_per_epoch(capsys):
    code = main(
        ["train", "curve", "--expr", "x^2", "--epochs", "5", "--hidden", "8", "--n-train", "32"]
    )
    assert code == 0
    captured = capsys.readouterr()  # metric lines on stdout, progress bars on stderr
    assert "epoch 5/5" in captured.out and "val_loss" in captured.out
    assert "curve" in captured.err


def test_surface_json_stream_is_one_event_per_line(capsys):
    code = main(
        [
            "train",
            "surface",
            "--expr",
            "sin(x)*cos(y)",
            "--epochs",
            "3",
            "--hidden",
            "8",
            "--grid",
            "6",
            "--json",
        ]
    )
    assert code == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kinds = [e["event"] for e in events]
    assert kinds[0] == "status" and "dataset" in kinds and kinds[-1] == "status"
    assert events[-1]["state"] == "finished"
    assert len([e for e in events if e["event"] == "epoch"][-1]["z_pred"]) == 6


def test_mnist_saves_weights_that_load_back(tmp_path, capsys):
    path = tmp_path / "mnist.npz"
    code = main(
        [
            "train",
            "mnist",
            "--epochs",
            "1",
            "--hidden",
            "16",
            "--train-subset",
            "500",
            "--save",
            str(path),
        ]
    )
    assert code == 0
    state = bpnet.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias"]
    assert state["0.weight"].shape == (16, 784)
    assert np.isfinite(state["2.weight"]).all()
    assert "val_accuracy" in capsys.readouterr().out
    _, info = bpnet.load_model(path)  # the file also says what network it holds
    assert info.task == "mnist" and info.output == "probabilities"
    assert info.architecture == {"name": "mlp", "hidden": [16], "activation": "relu"}


@pytest.mark.parametrize(
    ("argv", "flag"),
    [
        (["train", "curve", "--lr", "abc"], "--lr"),
        (["train", "curve", "--lr", "-1"], "--lr"),
        (["train", "curve", "--expr", "__import__('os')"], "--expr"),
        (["train", "curve", "--hidden", "8,x"], "--hidden"),
        (["train", "curve", "--hidden", "8,5000"], "--hidden"),
        (["train", "curve", "--x-range", "3,-3"], "--x-range"),
        (["train", "mnist", "--expr", "x"], "--expr"),
        (["train", "mnist", "--optimizer", "lbfgs"], "--optimizer"),
        (["train", "mnist", "--architecture", "rnn"], "--architecture"),
        (["train", "mnist", "--channels", "8,99"], "--channels"),
        (["train", "chess"], "task"),
        (["train", "classify", "--features", "x,z"], "--features"),
        (["train", "classify", "--noise", "0.9"], "--noise"),
    ],
)
def test_bad_flags_exit_2_with_one_line_naming_the_flag(argv, flag, capsys):
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert flag in err


def test_classify_takes_features_and_regularisation_as_flags(capsys):
    argv = ["train", "classify", "--dataset", "spiral", "--features", "x,y,sinx,siny",
            "--regularization", "l2", "--reg-rate", "0.001", "--epochs", "3", "--json"]  # fmt: skip
    assert main(argv) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    dataset = next(e for e in events if e["event"] == "dataset")
    assert dataset["config"]["features"] == ["x", "y", "sinx", "siny"]
    assert dataset["config"]["regularization"] == "l2"


def test_a_bad_formula_is_one_short_line_and_the_help_lists_the_language(capsys):
    with pytest.raises(SystemExit):
        main(["train", "curve", "--expr", "sin(x"])
    err = capsys.readouterr().err.strip()
    assert "never closed" in err and "bpnet train curve --help" in err
    assert "sigmoid" not in err  # the language is in --help, not in every error
    with pytest.raises(SystemExit):
        main(["train", "curve", "--help"])
    assert "sigmoid(a)" in capsys.readouterr().out


def test_a_bad_number_says_what_is_allowed_with_an_example(capsys):
    with pytest.raises(SystemExit):
        main(["train", "curve", "--hidden", "8,5000"])
    err = capsys.readouterr().err.strip()
    assert err == (
        "bpnet: error: argument --hidden: hidden must be 1 to 6 layer sizes separated by commas,"
        " each a whole number from 1 to 1024, e.g. 64,64; got [8, 5000]"
    )


def test_python_dash_m_bpnet_runs():
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "bpnet",
            "train",
            "curve",
            "--epochs",
            "2",
            "--hidden",
            "4",
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1])["state"] == "finished"


FAST = ["train", "curve", "--epochs", "400", "--hidden", "4", "--n-train", "16", "--grid", "10"]


def test_every_epoch_gets_a_line_though_epoch_events_are_paced(capsys):
    assert main(FAST) == 0
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch")]
    assert [int(line.split()[1].split("/")[0]) for line in lines] == list(range(1, 401))
    assert "val_loss" in lines[-1]


def test_json_carries_every_epochs_loss_in_history_arrays(capsys):
    assert main([*FAST, "--json"]) == 0
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    epochs = [n for e in events if "history" in e for n in e["history"]["epoch"]]
    assert epochs == list(range(1, 401))
    assert sum(e["event"] == "epoch" for e in events) < 400  # pictures stay paced
