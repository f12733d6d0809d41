"""Every epoch's loss reaches the client, though epoch events are paced; the job keeps a
record of every epoch for a page that reattaches, and exports it as CSV."""

import csv
import io
import threading

from bpnet.engine import TrainingJob, parse_config
from bpnet.engine.history import CSV_COLUMNS, History

FAST_CURVE = {"task": "curve", "epochs": 400, "hidden": [4], "n_train": 16, "n_val": 8, "grid": 10}


def run(config: dict) -> tuple[TrainingJob, list[dict]]:
    events: list[dict] = []
    job = TrainingJob(parse_config(config))
    job.run(events.append)
    return job, events


def batched_epochs(events: list[dict]) -> list[int]:
    return [n for e in events if "history" in e for n in e["history"]["epoch"]]


def test_every_epoch_arrives_once_in_order_though_epoch_events_are_thinned():
    job, events = run(FAST_CURVE)
    assert job.state == "finished"
    epoch_events = [e for e in events if e["event"] == "epoch"]
    assert len(epoch_events) < 400  # the pacing still thins the pictures
    assert batched_epochs(events) == list(range(1, 401))
    for event in epoch_events:  # an epoch event's batch ends with its own epoch
        batch = event["history"]
        assert batch["epoch"][-1] == event["epoch"]
        assert batch["train_loss"][-1] == event["train_loss"]
        assert len(batch["train_loss"]) == len(batch["lr"]) == len(batch["epoch"])


def test_a_stopped_job_sends_the_epochs_since_its_last_epoch_event_with_its_status():
    job = TrainingJob(parse_config({**FAST_CURVE, "epochs": 100_000}))
    events: list[dict] = []

    def emit(event):
        events.append(event)
        if event["event"] == "epoch" and event["epoch"] > 1:
            job.stop()

    job.run(emit)
    assert job.state == "stopped"
    assert batched_epochs(events) == list(range(1, len(job.history) + 1))


def test_the_snapshot_holds_every_epoch_with_validation_where_evaluated():
    job, events = run({**FAST_CURVE, "epochs": 50})
    snapshot = job.history.snapshot()
    assert snapshot["epoch"] == list(range(1, 51))
    evaluated = {e["epoch"]: e["val_loss"] for e in events if e["event"] == "epoch"}
    for epoch, val_loss in zip(snapshot["epoch"], snapshot["val_loss"]):
        assert val_loss == evaluated.get(epoch)
    assert job.history.picture["epoch"] == 50 and len(job.history.picture["y_pred"]) == 10


def test_cosine_schedule_lr_is_recorded_per_epoch():
    job, _ = run({**FAST_CURVE, "epochs": 20, "lr_schedule": "cosine", "lr": 0.1})
    lrs = job.history.snapshot()["lr"]
    assert lrs[0] == 0.1 and all(a > b for a, b in zip(lrs, lrs[1:]))


def test_csv_has_a_header_and_one_row_per_epoch():
    job, _ = run({**FAST_CURVE, "epochs": 30})
    rows = list(csv.reader(io.StringIO(job.history.to_csv())))
    assert tuple(rows[0]) == CSV_COLUMNS
    assert [int(r[0]) for r in rows[1:]] == list(range(1, 31))
    assert float(rows[1][1]) == job.history.snapshot()["train_loss"][0]  # full precision
    assert rows[-1][2] != "" and rows[1][3] == ""  # last epoch evaluated; no accuracy for curves


def test_mnist_picture_keeps_the_latest_samples():
    history = History()
    history.record_epoch(1, 0.5, 0.1)
    history.record_eval({"epoch": 1, "val_loss": 0.4, "samples": ["digits"]})
    history.record_epoch(2, 0.3, 0.1)
    history.record_eval({"epoch": 2, "val_loss": 0.2, "val_accuracy": 0.9})
    assert history.picture["epoch"] == 2 and history.picture["samples"] == ["digits"]
    assert history.snapshot()["val_accuracy"] == [None, 0.9]


def test_snapshot_is_safe_while_the_job_records():
    history = History()

    def write():
        for epoch in range(1, 20_001):
            history.record_epoch(epoch, 1.0, 0.1)

    writer = threading.Thread(target=write)
    writer.start()
    while writer.is_alive():
        snapshot = history.snapshot()
        assert len({len(column) for column in snapshot.values()}) == 1
    writer.join()
