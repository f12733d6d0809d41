"""A job outlives its tab for a grace period, and the page that comes back attaches to it
(the protocol through Flask-SocketIO's test client; test_webapp_live covers the wire)."""

import time

import pytest
from helpers import wait_until

from webapp import create_app, socketio

CURVE = {"task": "curve", "hidden": [4], "n_train": 16, "n_val": 8, "grid": 10}
LONG = {**CURVE, "epochs": 100_000}


def make_app(grace: float):
    return create_app({"TESTING": True, "MAX_JOBS": 3, "GRACE_SECONDS": grace})


@pytest.fixture
def app():
    app = make_app(grace=30)
    yield app
    app.extensions["bpnet_jobs"].stop_all(wait=2)


def received(client) -> list[tuple[str, dict]]:
    return [(m["name"], m["args"][0]) for m in client.get_received()]


def epochs_in(events) -> list[int]:
    return [n for _, e in events if "history" in e for n in e["history"]["epoch"]]


def test_a_job_keeps_running_detached_and_the_page_that_comes_back_gets_every_epoch(app):
    first = socketio.test_client(app)
    job_id = first.emit("start", LONG, callback=True)["job"]
    wait_until(lambda: [e for e in received(first) if e[0] == "epoch"])
    first.disconnect()
    job = app.extensions["bpnet_jobs"].find(job_id)
    at_drop = len(job.history)
    wait_until(lambda: len(job.history) > at_drop + 50)  # it trains on while detached
    assert job.state == "running"

    again = socketio.test_client(app)
    ack = again.emit("attach", {"job": job_id}, callback=True)
    assert ack["ok"] and ack["job"] == job_id and ack["state"] == "running"
    assert ack["config"]["hidden"] == [4] and ack["dataset"]["layers"] == ["Linear 1", "Linear 2"]
    history = ack["history"]
    assert history["epoch"] == list(range(1, len(history["epoch"]) + 1))
    assert len(history["epoch"]) > at_drop + 50
    assert ack["picture"]["epoch"] <= history["epoch"][-1] and "y_pred" in ack["picture"]

    events = []
    wait_until(lambda: events.extend(received(again)) or [n for n, _ in events if n == "epoch"])
    assert {e["job"] for _, e in events} == {job_id}
    later = epochs_in(events)
    # what the answer held, then live events: every epoch, none missing
    assert later[0] <= history["epoch"][-1] + 1
    assert later == list(range(later[0], later[0] + len(later)))
    again.emit("stop", callback=True)
    again.disconnect()


def test_a_wrong_or_malformed_id_is_refused(app):
    owner, stranger = socketio.test_client(app), socketio.test_client(app)
    owner.emit("start", LONG, callback=True)
    for payload in [{"job": "0123456789ab"}, {"job": ""}, None, "x", {"job": 5}]:
        ack = stranger.emit("attach", payload, callback=True)
        assert ack["ok"] is False and ack["field"] == "job", ack
    ack = stranger.emit("attach", {"job": "0123456789ab", "more": 1}, callback=True)
    assert ack["ok"] is False and ack["field"] == "more"
    assert stranger.emit("stop", callback=True)["error"] == "no job is running"
    owner.disconnect()
    stranger.disconnect()


def test_the_newest_connection_wins_and_the_old_one_is_told(app):
    first, second = socketio.test_client(app), socketio.test_client(app)
    job_id = first.emit("start", LONG, callback=True)["job"]
    assert second.emit("attach", {"job": job_id}, callback=True)["ok"]
    told = wait_until(lambda: [e for n, e in received(first) if n == "detached"])
    assert told[0]["job"] == job_id and "another tab" in told[0]["message"]
    assert first.emit("pause", callback=True)["error"] == "no job is running"
    assert second.emit("pause", callback=True)["ok"]
    received(second)
    assert second.emit("resume", callback=True)["ok"]
    wait_until(lambda: [e for n, e in received(second) if n == "epoch"])
    assert not [e for n, e in received(first) if n == "epoch"]
    second.emit("stop", callback=True)
    first.disconnect()
    second.disconnect()


def test_after_the_grace_period_the_job_is_stopped_and_its_thread_ends():
    app = make_app(grace=0.5)
    client = socketio.test_client(app)
    job_id = client.emit("start", LONG, callback=True)["job"]
    jobs = app.extensions["bpnet_jobs"]
    job = jobs.find(job_id)
    client.disconnect()
    time.sleep(0.2)
    assert job.state == "running"  # within the grace period
    wait_until(lambda: job.state == "stopped", timeout=5)
    wait_until(lambda: jobs.running() == 0, timeout=5)  # its thread has ended
    late = socketio.test_client(app)
    assert late.emit("attach", {"job": job_id}, callback=True)["ok"] is False
    status = late.emit("status", {"job": job_id}, callback=True)
    assert status["state"] == "stopped" and "connection dropped" in status["message"]
    late.disconnect()


def test_a_job_that_finished_while_detached_can_still_be_attached(app):
    client = socketio.test_client(app)
    job_id = client.emit("start", {**CURVE, "epochs": 30}, callback=True)["job"]
    client.disconnect()
    job = app.extensions["bpnet_jobs"].find(job_id)
    wait_until(lambda: job.done)
    again = socketio.test_client(app)
    ack = again.emit("attach", {"job": job_id}, callback=True)
    assert ack["state"] == "finished" and ack["history"]["epoch"] == list(range(1, 31))
    assert ack["picture"]["epoch"] == 30
    again.disconnect()


def test_grace_zero_stops_the_job_when_its_tab_goes():
    app = make_app(grace=0)
    client = socketio.test_client(app)
    job_id = client.emit("start", LONG, callback=True)["job"]
    job = app.extensions["bpnet_jobs"].find(job_id)
    client.disconnect()
    wait_until(lambda: job.state == "stopped", timeout=2)


def test_the_history_downloads_as_csv_by_job_id(app):
    client = socketio.test_client(app)
    job_id = client.emit("start", {**CURVE, "epochs": 30}, callback=True)["job"]
    job = app.extensions["bpnet_jobs"].find(job_id)
    wait_until(lambda: job.done)
    response = app.test_client().get(f"/jobs/{job_id}/history.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    lines = response.get_data(as_text=True).splitlines()
    assert lines[0] == "epoch,train_loss,val_loss,val_accuracy,lr" and len(lines) == 31
    assert app.test_client().get("/jobs/0123456789ab/history.csv").status_code == 404
    client.disconnect()
