"""Jobs that are costly or slow to stop, through Flask-SocketIO's test client.

The per-job budget refuses what a shared server cannot afford; the job cap counts a job
until its thread has ended; a stop lands inside a long evaluation; a tab replacing its
job never trains twice at once; nothing non-finite is ever sent.
"""

from __future__ import annotations

import threading
import time

import pytest
from helpers import wait_until

from bpnet.engine import TrainingJob, tasks
from webapp import create_app, jobs, socketio, wire

SMALL = {"task": "curve", "hidden": [8], "n_train": 32, "n_val": 16, "grid": 20}
LONG = {**SMALL, "epochs": 100_000}
# The first round's 3 GB job: six layers of 1,024 units and 100,000 validation points;
# every evaluation takes many seconds.
HEAVY_EVAL = {"task": "curve", "hidden": [1024] * 6, "n_val": 100_000, "n_train": 2,
              "batch_size": 1, "epochs": 1000}  # fmt: skip


@pytest.fixture
def app():
    app = create_app({"TESTING": True, "MAX_JOBS": 1})
    yield app
    app.extensions["bpnet_jobs"].stop_all(wait=5)


def received(client, into: list) -> list:
    into.extend((m["name"], m["args"][0]) for m in client.get_received())
    return into


def test_a_config_over_the_budget_is_refused_naming_the_product(app):
    client = socketio.test_client(app)
    ack = client.emit("start", {"task": "mnist", "hidden": [1024] * 6, "batch_size": 4096},
                      callback=True)  # fmt: skip
    assert ack["ok"] is False and ack["field"] == "batch_size"
    assert "batch_size × parameters is too large" in ack["error"]
    assert "use batch_size 177 or less" in ack["error"]
    client.disconnect()


class _Stubborn:
    """Makes every job ignore ``stop`` until released: a job whose thread winds down slowly."""

    def __init__(self, monkeypatch):
        self.release = threading.Event()
        release = self.release

        def run(job, emit):
            job.state = "running"
            release.wait(30)
            job.state = "stopped"
            return job.state

        monkeypatch.setattr(TrainingJob, "run", run)


def test_a_closed_tabs_job_counts_until_its_thread_has_ended(app, monkeypatch):
    stubborn = _Stubborn(monkeypatch)
    first, second = socketio.test_client(app), socketio.test_client(app)
    assert first.emit("start", SMALL, callback=True)["ok"]
    first.disconnect()  # the job is told to stop, but its thread is still running
    busy = second.emit("start", SMALL, callback=True)
    assert busy == {"ok": False, "error": "server busy: 1 job running, try again shortly",
                    "field": None}  # fmt: skip
    stubborn.release.set()
    jobs_ = app.extensions["bpnet_jobs"]
    wait_until(lambda: jobs_.running() == 0, what="the thread to end")
    assert second.emit("start", SMALL, callback=True)["ok"]
    second.disconnect()


def test_a_restart_waits_for_the_tabs_previous_job_or_is_refused(app, monkeypatch):
    stubborn = _Stubborn(monkeypatch)
    monkeypatch.setattr(jobs, "REPLACE_WAIT", 0.2)
    client = socketio.test_client(app)
    assert client.emit("start", SMALL, callback=True)["ok"]
    again = client.emit("start", SMALL, callback=True)
    assert again["ok"] is False and "previous job is still stopping" in again["error"]
    assert app.extensions["bpnet_jobs"].running() == 1  # never two jobs for one tab
    stubborn.release.set()
    wait_until(lambda: app.extensions["bpnet_jobs"].running() == 0, what="the thread to end")
    assert client.emit("start", SMALL, callback=True)["ok"]
    client.disconnect()


def test_a_restart_replaces_the_job_only_once_the_old_one_has_ended(app):
    client = socketio.test_client(app)
    jobs_ = app.extensions["bpnet_jobs"]
    for _ in range(4):  # with --max-jobs 1, four restarts: never two jobs training
        assert client.emit("start", LONG, callback=True)["ok"]
        assert jobs_.running() == 1
    client.disconnect()


def test_a_stop_during_a_long_evaluation_ends_the_job_without_finishing_it(app):
    client = socketio.test_client(app)
    events: list = []
    assert client.emit("start", HEAVY_EVAL, callback=True)["ok"]
    wait_until(lambda: _last_status(received(client, events)).get("message") == "training",
             what="training to begin")  # fmt: skip
    time.sleep(0.5)  # inside the first evaluation: 100,000 points through 5 M parameters
    assert client.emit("stop", callback=True)["ok"]
    wait_until(lambda: _last_status(received(client, events)).get("state") == "stopped",
             what="stopped")  # fmt: skip
    # Without stop checks between evaluation chunks, the evaluation would have run to its
    # end and sent its epoch before the job noticed the stop.
    assert not [payload for name, payload in events if name == "epoch"]
    assert _last_status(events)["message"] == "stopped during epoch 1"
    client.disconnect()


def _last_status(events) -> dict:
    statuses = [payload for name, payload in events if name == "status"]
    return statuses[-1] if statuses else {}


def test_non_finite_values_never_reach_the_wire(app, monkeypatch):
    with pytest.raises(ValueError, match="not finite"):
        wire.dumps({"loss": float("nan")})

    def overflowing(self, model, epoch):
        return {"val_loss": 0.5, "x": [0.0, 1.0], "y_pred": [1.0, float("inf")]}

    monkeypatch.setattr(tasks.CurveTask, "evaluate", overflowing)
    client = socketio.test_client(app)
    events: list = []
    assert client.emit("start", {**SMALL, "epochs": 3}, callback=True)["ok"]
    wait_until(lambda: _last_status(received(client, events)).get("state") == "failed",
             what="failed")  # fmt: skip
    assert "overflowed" in _last_status(events)["message"]
    assert client.is_connected()  # the tab is told; its connection is not dropped
    client.disconnect()


def test_status_of_a_job_held_by_another_open_tab_leaks_nothing_of_it(app):
    owner, other = socketio.test_client(app), socketio.test_client(app)
    job_id = owner.emit("start", LONG, callback=True)["job"]
    answer = other.emit("status", {"job": job_id}, callback=True)
    assert set(answer) == {"ok", "job", "state", "message"}
    assert "another connection" in answer["message"]
    assert "epoch" not in answer["message"]
    owner.disconnect()
    other.disconnect()
