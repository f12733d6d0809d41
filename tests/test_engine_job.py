"""Training jobs: each task trains to the end, reports plain JSON events, and obeys
pause, resume, stop and live changes from another thread."""

import json
import math
import threading
import time

import numpy as np
import pytest
from helpers import start_in_thread, wait_until

from bpnet.engine import TrainingJob, parse_config

SMALL = {
    "curve": {"task": "curve", "epochs": 60, "hidden": [16, 16], "n_train": 64, "n_val": 32},
    "surface": {"task": "surface", "epochs": 25, "hidden": [16, 16], "n_train": 200, "grid": 10},
    "mnist": {"task": "mnist", "epochs": 2, "hidden": [32], "train_subset": 2000, "lr": 0.1},
    "classify": {"task": "classify", "epochs": 20, "dataset": "xor"},
}


def run_job(config: dict) -> tuple[TrainingJob, list[dict]]:
    events: list[dict] = []
    job = TrainingJob(parse_config(config))
    job.run(events.append)
    return job, events


def of_kind(events, kind):
    return [e for e in events if e["event"] == kind]


@pytest.mark.parametrize("task", list(SMALL))
def test_each_task_trains_to_finished_with_falling_loss(task):
    job, events = run_job(SMALL[task])
    assert job.state == "finished", job.message
    epochs = of_kind(events, "epoch")
    assert epochs[-1]["epoch"] == SMALL[task]["epochs"]
    assert epochs[-1]["val_loss"] < epochs[0]["val_loss"]
    assert of_kind(events, "status")[-1]["state"] == "finished"
    assert events[0]["event"] == "status" and events[0]["state"] == "running"
    assert of_kind(events, "dataset")[0]["task"] == task


@pytest.mark.parametrize("task", ["curve", "surface", "mnist"])
def test_events_are_json_safe_and_follow_the_protocol(task):
    job, events = run_job(SMALL[task])
    for event in events:
        assert json.loads(json.dumps(event, allow_nan=False)) == event
        assert event["job"] == job.id and isinstance(event["time"], float)
    dataset = of_kind(events, "dataset")[0]
    layers = dataset["layers"]
    assert len(layers) == len(SMALL[task]["hidden"]) + 1
    for epoch in of_kind(events, "epoch"):
        assert {"epoch", "epochs", "train_loss", "val_loss", "lr", "elapsed", "grad_norms"} <= set(
            epoch
        )
        assert len(epoch["grad_norms"]) == len(layers)
        assert all(n > 0 for n in epoch["grad_norms"])
    last = of_kind(events, "epoch")[-1]
    if task == "curve":
        assert len(dataset["x"]) == len(dataset["y_true"]) == len(last["y_pred"]) == len(last["x"])
        assert set(dataset["train"]) == {"x", "y"} and len(dataset["train"]["x"]) == 64
    elif task == "surface":
        grid = np.array(last["z_pred"])
        assert grid.shape == np.array(dataset["z_true"]).shape == (10, 10)
        assert set(dataset["train"]) == {"x", "y", "z"}
    else:
        assert 0 <= last["val_accuracy"] <= 1
        assert dataset["classes"][0] == "0" and dataset["train_size"] == 2000
        samples = last["samples"]
        assert len(samples) == 10
        for s in samples:
            assert len(s["pixels"]) == 784 and all(0 <= p <= 255 for p in s["pixels"])
            assert 0 <= s["label"] <= 9 and 0 <= s["pred"] <= 9
            assert len(s["probs"]) == 10 and abs(sum(s["probs"]) - 1) < 1e-3
            assert s["pred"] == int(np.argmax(s["probs"]))


def test_mnist_reports_progress_within_long_epochs(monkeypatch):
    from bpnet.engine import pacing

    monkeypatch.setattr(pacing, "PROGRESS_INTERVAL", 0.0)  # as if every batch took long
    _, events = run_job({**SMALL["mnist"], "epochs": 1, "batch_size": 100})
    progress = of_kind(events, "progress")
    assert [p["batch"] for p in progress] == list(range(1, 21))
    assert all(p["batches"] == 20 and p["epoch"] == 1 for p in progress)
    assert all(p["train_loss"] > 0 and p["examples_per_s"] > 0 for p in progress)


def test_a_long_cheap_job_is_thinned_but_keeps_its_last_epoch():
    _, events = run_job(
        {
            "task": "curve",
            "epochs": 2000,
            "hidden": [4],
            "n_train": 16,
            "n_val": 8,
            "batch_size": 16,
            "grid": 10,
        }
    )
    epochs = [e["epoch"] for e in of_kind(events, "epoch")]
    elapsed = of_kind(events, "epoch")[-1]["elapsed"]
    assert epochs[-1] == 2000 and epochs[0] == 1
    assert len(epochs) <= 20 * elapsed + 2  # at most 20 epoch events per second
    assert epochs == sorted(epochs)


LONG = {"task": "curve", "epochs": 100_000, "hidden": [8], "n_train": 64}


def test_pause_resume_and_stop_from_another_thread():
    job, events, thread = start_in_thread(LONG)
    assert wait_until(lambda: of_kind(events, "epoch"))
    job.pause()
    assert wait_until(lambda: job.state == "paused")
    count = len(of_kind(events, "epoch"))
    time.sleep(0.3)
    assert len(of_kind(events, "epoch")) <= count + 1  # at most the epoch in flight
    job.resume()
    assert wait_until(lambda: len(of_kind(events, "epoch")) > count + 1)
    job.stop()
    thread.join(timeout=2)
    assert not thread.is_alive()
    states = [e["state"] for e in of_kind(events, "status")]
    assert states[-1] == "stopped" and "paused" in states
    assert states.index("paused") < len(states) - 1
    # the status names the last epoch that finished, which is the chart's last point
    finished = int(job.message.removeprefix("stopped after epoch "))
    assert finished >= of_kind(events, "epoch")[-1]["epoch"]


def test_stop_while_paused_ends_the_job():
    job, events, thread = start_in_thread(LONG)
    assert wait_until(lambda: of_kind(events, "epoch"))
    job.pause()
    assert wait_until(lambda: job.state == "paused")
    job.stop()
    thread.join(timeout=2)
    assert job.state == "stopped"


def test_learning_rate_changes_between_steps():
    job, events, thread = start_in_thread(LONG)
    assert wait_until(lambda: of_kind(events, "epoch"))
    assert job.update({"lr": 0.0005}) == {"lr": 0.0005, "momentum": 0.0}
    assert wait_until(lambda: of_kind(events, "epoch")[-1]["lr"] == 0.0005)
    job.stop()
    thread.join(timeout=2)
    assert job._optimizer.param_groups[0]["lr"] == 0.0005


def test_momentum_changes_live_for_sgd_with_momentum():
    job, events, thread = start_in_thread({**LONG, "optimizer": "momentum", "lr": 0.01})
    assert wait_until(lambda: of_kind(events, "epoch"))
    job.update({"momentum": 0.5})
    assert wait_until(lambda: job._optimizer.param_groups[0]["momentum"] == 0.5)
    job.stop()
    thread.join(timeout=2)


def test_momentum_update_is_refused_for_adam():
    from bpnet.engine import ConfigError

    job = TrainingJob(parse_config(LONG))
    with pytest.raises(ConfigError) as caught:
        job.update({"momentum": 0.5})
    assert caught.value.field == "momentum"


def test_divergence_fails_with_advice():
    job, events = run_job(
        {
            "task": "curve",
            "epochs": 200,
            "optimizer": "sgd",
            "lr": 10.0,
            "hidden": [64, 64],
            "activation": "relu",
            "expression": "100*x^3",
        }
    )
    assert job.state == "failed"
    assert "try a smaller learning rate" in job.message
    assert "epoch" in job.message
    assert of_kind(events, "status")[-1]["state"] == "failed"


def test_an_exception_inside_a_job_becomes_failed(monkeypatch):
    from bpnet.engine import tasks

    def broken(self, model, epoch):
        raise RuntimeError("injected fault")

    monkeypatch.setattr(tasks.CurveTask, "evaluate", broken)
    job, events = run_job(SMALL["curve"])
    assert job.state == "failed"
    assert "injected fault" in job.message
    assert of_kind(events, "status")[-1] == {**of_kind(events, "status")[-1], "state": "failed"}


def test_same_seed_same_run():
    _, first = run_job({**SMALL["curve"], "epochs": 5})
    _, second = run_job({**SMALL["curve"], "epochs": 5})
    # thinning depends on timing, but the first and last epochs are always sent
    for a, b in [(0, 0), (-1, -1)]:
        assert of_kind(first, "epoch")[a] == {
            **of_kind(second, "epoch")[b],
            "job": of_kind(first, "epoch")[a]["job"],
            "time": of_kind(first, "epoch")[a]["time"],
            "elapsed": of_kind(first, "epoch")[a]["elapsed"],
            "examples_per_s": of_kind(first, "epoch")[a]["examples_per_s"],
        }


def test_jobs_in_parallel_threads_do_not_interfere():
    results = {}

    def run(name, config):
        results[name] = run_job(config)

    configs = {"a": {**SMALL["curve"], "seed": 1}, "b": {**SMALL["curve"], "seed": 1}}
    threads = [threading.Thread(target=run, args=item) for item in configs.items()]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    a = [e["val_loss"] for e in of_kind(results["a"][1], "epoch") if e["epoch"] == 60]
    b = [e["val_loss"] for e in of_kind(results["b"][1], "epoch") if e["epoch"] == 60]
    assert a == b


def test_a_cosine_schedule_anneals_the_learning_rate_per_epoch():
    _, events = run_job({**SMALL["mnist"], "epochs": 4, "lr_schedule": "cosine", "lr": 0.1})
    sent = of_kind(events, "epoch")  # thinned by rate, but always the first and the last
    assert sent[0]["epoch"] == 1 and sent[-1]["epoch"] == 4
    for event in sent:  # the lr the epoch trained with: 0.1 (1 + cos(pi t / 4)) / 2
        t = event["epoch"] - 1
        assert event["lr"] == pytest.approx(0.05 * (1 + math.cos(math.pi * t / 4)), rel=1e-6)
