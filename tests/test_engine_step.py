"""Stepping a job one batch or one epoch at a time, and looking inside it while paused."""

import time

import numpy as np
import pytest
from helpers import start_in_thread, wait_until
from numpy.testing import assert_allclose, assert_array_equal

from bpnet.engine import ConfigError

# 64 points in batches of 16: four batches an epoch
PAUSED = {
    "task": "curve",
    "epochs": 5,
    "hidden": [8, 8],
    "n_train": 64,
    "batch_size": 16,
    "paused": True,
}


def paused_again(job, events, before):
    """Wait until a status after index ``before`` says paused (the step ended)."""
    wait_until(
        lambda: any(e["event"] == "status" and e["state"] == "paused" for e in events[before:])
    )


def step(job, events, unit):
    before = len(events)
    job.step(unit)
    paused_again(job, events, before)


def of_kind(events, kind):
    return [e for e in events if e["event"] == kind]


def finish(job, thread):
    job.stop()
    thread.join(timeout=5)
    assert not thread.is_alive()


def test_a_job_started_paused_waits_before_its_first_batch():
    job, events, thread = start_in_thread(PAUSED)
    wait_until(lambda: job.state == "paused")
    time.sleep(0.2)
    assert of_kind(events, "epoch") == [] and of_kind(events, "progress") == []
    assert job.message == "paused before epoch 1"
    finish(job, thread)


def test_step_batch_trains_exactly_one_batch_then_pauses():
    job, events, thread = start_in_thread(PAUSED)
    wait_until(lambda: job.state == "paused")
    for expected in (1, 2, 3):
        before = len(events)
        weights = job.weights()
        job.step("batch")
        paused_again(job, events, before)
        progress = of_kind(events[before:], "progress")
        assert [(p["epoch"], p["batch"], p["batches"]) for p in progress] == [(1, expected, 4)]
        assert job.message == f"paused at epoch 1, batch {expected}/4"
        assert not np.array_equal(job.weights()["0.weight"], weights["0.weight"])
    assert of_kind(events, "epoch") == []
    before = len(events)
    job.step("batch")  # the epoch's last batch: its epoch event comes too
    paused_again(job, events, before)
    assert [e["epoch"] for e in of_kind(events[before:], "epoch")] == [1]
    assert job.message == "paused before epoch 2"
    finish(job, thread)


def test_step_epoch_finishes_the_epoch_then_pauses():
    job, events, thread = start_in_thread(PAUSED)
    wait_until(lambda: job.state == "paused")
    before = len(events)
    job.step("epoch")
    paused_again(job, events, before)
    assert [e["epoch"] for e in of_kind(events, "epoch")] == [1]
    step(job, events, "batch")
    before = len(events)
    job.step("epoch")  # from within epoch 2: to its end
    paused_again(job, events, before)
    assert [e["epoch"] for e in of_kind(events, "epoch")] == [1, 2]
    assert job.message == "paused before epoch 3"
    epoch = of_kind(events, "epoch")[-1]
    assert "units" in epoch and len(epoch["diagnostics"]) == 3  # stepped epochs carry everything
    finish(job, thread)


def test_step_is_refused_while_running_and_for_an_unknown_unit():
    job, events, thread = start_in_thread({**PAUSED, "paused": False, "epochs": 100_000})
    wait_until(lambda: of_kind(events, "epoch"))
    with pytest.raises(ConfigError, match="only while the job is paused"):
        job.step("batch")
    with pytest.raises(ConfigError, match="unit must be batch or epoch") as error:
        job.step("minute")
    assert error.value.field == "unit"
    with pytest.raises(ConfigError, match="only while the job is paused"):
        job.inspect()
    finish(job, thread)


def test_inspection_previews_the_very_update_the_next_step_makes():
    job, events, thread = start_in_thread({**PAUSED, "optimizer": "adam"})
    wait_until(lambda: job.state == "paused")
    step(job, events, "batch")  # Adam's moments are not empty any more
    report = job.inspect()
    assert (report["epoch"], report["batch"], report["batches"]) == (1, 1, 4)
    before = job.weights()
    check = job.gradcheck(layer=0, k=5)
    assert check["max_relative_error"] < 1e-6
    for key, value in job.weights().items():
        assert_array_equal(value, before[key])  # neither changed a bit of the weights
    before_step = len(events)
    job.step("batch")
    paused_again(job, events, before_step)
    change = job.weights()["0.weight"] - before["0.weight"]
    ratio = np.linalg.norm(change) / np.linalg.norm(job.weights()["0.weight"])
    assert report["layers"][0]["update_ratio"] == pytest.approx(ratio, rel=1e-3)
    assert_allclose(np.linalg.norm(change), report["layers"][0]["update_norm"], rtol=1e-3)
    finish(job, thread)


def test_a_gradient_check_does_not_change_the_run():
    """Two jobs with one seed train identically, whether or not one was inspected."""

    def final_weights(inspected: bool):
        job, _, thread = start_in_thread({**PAUSED, "epochs": 2})
        wait_until(lambda: job.state == "paused")
        if inspected:
            job.inspect()
            job.gradcheck(layer=1, k=5)
        job.resume()
        thread.join(timeout=10)
        return job.model.state_dict()

    plain, inspected = final_weights(False), final_weights(True)
    for key, value in plain.items():
        assert_array_equal(value, inspected[key])
