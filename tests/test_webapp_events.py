"""The Socket.IO protocol through Flask-SocketIO's test client (docs/protocol.md)."""

import threading
import time

import pytest

from webapp import create_app, socketio

CURVE = {"task": "curve", "epochs": 40, "hidden": [8], "n_train": 32, "n_val": 16, "grid": 20}
LONG = {**CURVE, "epochs": 100_000}


@pytest.fixture
def app():
    # grace 0: these tests check what a closed tab does to its job at once (test_webapp_attach
    # covers the grace period)
    app = create_app({"TESTING": True, "MAX_JOBS": 3, "GRACE_SECONDS": 0})
    yield app
    app.extensions["bpnet_jobs"].stop_all(wait=2)


@pytest.fixture
def client(app):
    client = socketio.test_client(app)
    yield client
    if client.is_connected():
        client.disconnect()


class Inbox:
    """Everything a test client received so far, by event name."""

    def __init__(self, client):
        self.client = client
        self.events: list[tuple[str, dict]] = []

    def poll(self):
        for message in self.client.get_received():
            self.events.append((message["name"], message["args"][0]))

    def of(self, name):
        self.poll()
        return [payload for event, payload in self.events if event == name]

    def wait_for(self, predicate, timeout=15.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.poll()
            if predicate(self):
                return True
            time.sleep(0.02)
        raise AssertionError(f"timed out; received {[e for e, _ in self.events][-20:]}")

    def final_state(self):
        states = [s["state"] for s in self.of("status")]
        return states[-1] if states else None


def ended(inbox):
    return inbox.final_state() in ("finished", "stopped", "failed")


@pytest.mark.parametrize(
    "config",
    [
        CURVE,
        {"task": "surface", "epochs": 10, "hidden": [8], "n_train": 64, "grid": 8},
        {"task": "mnist", "epochs": 1, "hidden": [16], "train_subset": 500},
    ],
    ids=["curve", "surface", "mnist"],
)
def test_start_streams_dataset_epochs_and_finished(client, config):
    ack = client.emit("start", config, callback=True)
    assert ack["ok"] is True and isinstance(ack["job"], str)
    inbox = Inbox(client)
    inbox.wait_for(ended)
    assert inbox.final_state() == "finished"
    names = [name for name, _ in inbox.events]
    assert names.index("dataset") < names.index("epoch")
    epochs = inbox.of("epoch")
    assert epochs[-1]["epoch"] == config["epochs"]
    assert all(e["job"] == ack["job"] for e in epochs)
    picture = {"curve": "y_pred", "surface": "z_pred", "mnist": "val_accuracy"}[config["task"]]
    assert picture in epochs[-1]


def test_pause_resume_update_and_stop(client):
    inbox = Inbox(client)
    assert client.emit("start", LONG, callback=True)["ok"]
    inbox.wait_for(lambda i: i.of("epoch"))
    assert client.emit("pause", callback=True) == {"ok": True}
    inbox.wait_for(lambda i: i.final_state() == "paused")
    assert client.emit("resume", {}, callback=True) == {"ok": True}
    inbox.wait_for(lambda i: i.final_state() == "running")
    ack = client.emit("update", {"lr": 0.002}, callback=True)
    assert ack == {"ok": True, "lr": 0.002, "momentum": 0.0}
    inbox.wait_for(lambda i: i.of("epoch")[-1]["lr"] == 0.002)
    assert client.emit("stop", callback=True) == {"ok": True}
    inbox.wait_for(ended)
    assert inbox.final_state() == "stopped"
    assert client.emit("pause", callback=True) == {
        "ok": False,
        "error": "no job is running",
        "field": None,
    }


def test_a_new_start_replaces_the_running_job(client):
    inbox = Inbox(client)
    first = client.emit("start", LONG, callback=True)["job"]
    inbox.wait_for(lambda i: i.of("epoch"))
    second = client.emit("start", CURVE, callback=True)["job"]
    assert second != first
    inbox.wait_for(
        lambda i: any(s["job"] == second and s["state"] == "finished" for s in i.of("status"))
    )
    assert any(s["job"] == first and s["state"] == "stopped" for s in inbox.of("status"))


def test_disconnect_stops_the_job_and_ends_its_thread(app, client):
    assert client.emit("start", LONG, callback=True)["ok"]
    Inbox(client).wait_for(lambda i: i.of("epoch"))
    before = threading.active_count()
    jobs = app.extensions["bpnet_jobs"]
    job = next(iter(jobs._jobs.values()))
    client.disconnect()
    deadline = time.monotonic() + 2
    while time.monotonic() < deadline and not job.done:
        time.sleep(0.01)
    assert job.state == "stopped"
    time.sleep(0.1)
    assert threading.active_count() < before


def test_two_clients_only_see_their_own_events(app):
    a, b = socketio.test_client(app), socketio.test_client(app)
    job_a = a.emit("start", CURVE, callback=True)["job"]
    job_b = b.emit("start", {**CURVE, "expression": "x^2"}, callback=True)["job"]
    inbox_a, inbox_b = Inbox(a), Inbox(b)
    inbox_a.wait_for(ended)
    inbox_b.wait_for(ended)
    assert {p["job"] for _, p in inbox_a.events} == {job_a}
    assert {p["job"] for _, p in inbox_b.events} == {job_b}
    a.disconnect()
    b.disconnect()


def test_the_server_wide_cap_answers_busy(app):
    clients = [socketio.test_client(app) for _ in range(4)]
    acks = [c.emit("start", LONG, callback=True) for c in clients]
    assert [a["ok"] for a in acks] == [True, True, True, False]
    assert acks[3]["error"] == "server busy: 3 jobs running, try again shortly"
    for c in clients:
        c.disconnect()


def test_the_busy_message_counts_one_job_in_the_singular():
    app = create_app({"TESTING": True, "MAX_JOBS": 1})
    first, second = socketio.test_client(app), socketio.test_client(app)
    assert first.emit("start", LONG, callback=True)["ok"]
    ack = second.emit("start", LONG, callback=True)
    assert ack["error"] == "server busy: 1 job running, try again shortly"
    first.disconnect()
    second.disconnect()
    app.extensions["bpnet_jobs"].stop_all(wait=2)


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        (None, None, "object"),
        ("curve", None, "object"),
        ([1, 2], None, "object"),
        ({"task": "chess"}, "task", "curve, surface, mnist or classify"),
        ({"task": "curve", "epochs": "many"}, "epochs", "whole number"),
        ({"task": "curve", "lr": 1e9}, "lr", "from 1e-08 to 10"),
        ({"task": "curve", "hidden": [10**9]}, "hidden.0", "1024"),
        ({"task": "curve", "expression": "__import__('os').system('id')"}, "expression", "allowed"),
        ({"task": "curve", "evil": {"nested": [1]}}, "evil", "unknown field"),
    ],
)
def test_malformed_starts_are_refused_and_the_connection_carries_on(client, payload, field, words):
    ack = client.emit("start", payload, callback=True)
    assert ack["ok"] is False and ack["field"] == field and words in ack["error"]
    assert client.emit("start", CURVE, callback=True)["ok"] is True


def test_bad_updates_are_refused(client):
    assert client.emit("update", {"lr": 0.1}, callback=True)["error"] == "no job is running"
    client.emit("start", LONG, callback=True)
    ack = client.emit("update", {"lr": -5}, callback=True)
    assert ack["ok"] is False and ack["field"] == "lr"
    ack = client.emit("update", "fast", callback=True)
    assert ack["ok"] is False and "object" in ack["error"]
    ack = client.emit("update", {"epochs": 5}, callback=True)
    assert ack["ok"] is False and ack["field"] == "epochs"


def test_validate_answers_while_typing(client):
    assert client.emit("validate", {"task": "curve", "expression": "sin(x)"}, callback=True) == {
        "ok": True
    }
    ack = client.emit("validate", {"task": "surface", "expression": "x +* y"}, callback=True)
    assert ack["ok"] is False and ack["field"] == "expression"
    # a whole config, as a shared link brings it: the same checks as start
    ack = client.emit("validate", {"task": "mnist", "lr": 100}, callback=True)
    assert ack["ok"] is False and ack["field"] == "lr"
    ack = client.emit("validate", {"task": "chess"}, callback=True)
    assert ack["ok"] is False and ack["field"] == "task"
    assert client.emit("validate", {"task": "curve", "hidden": [3, 3]}, callback=True)["ok"]


def test_status_after_a_reconnect_tells_what_became_of_the_job(app):
    first = socketio.test_client(app)
    job_id = first.emit("start", LONG, callback=True)["job"]
    Inbox(first).wait_for(lambda i: i.of("epoch"))
    assert first.emit("status", callback=True)["state"] == "running"
    first.disconnect()
    time.sleep(0.3)
    again = socketio.test_client(app)
    ack = again.emit("status", {"job": job_id}, callback=True)
    assert ack["ok"] and ack["job"] == job_id and ack["state"] == "stopped"
    assert "connection dropped" in ack["message"]
    assert again.emit("status", callback=True)["state"] == "idle"
    again.disconnect()


def test_code_answers_with_both_scripts_for_a_valid_config_only(client):
    ack = client.emit("code", {"task": "curve", "expression": "x^2", "epochs": 7}, callback=True)
    assert ack["ok"] and "'x^2'" in ack["bpnet"] and "import torch" in ack["torch"]
    assert ack["filenames"] == {"bpnet": "bpnet_curve.py", "torch": "torch_curve.py"}
    ack = client.emit("code", {"task": "curve", "expression": "__import__('os')"}, callback=True)
    assert ack["ok"] is False and ack["field"] == "expression"


@pytest.mark.parametrize(
    "config",
    [{"task": "classify", "regularization": "l1"}, {"task": "mnist", "architecture": "cnn"}],
)
def test_code_is_written_for_classify_and_for_the_cnn(client, config):
    ack = client.emit("code", config, callback=True)
    assert ack["ok"], ack
    assert "model.backward(criterion.backward())" in ack["bpnet"] and "import torch" in ack["torch"]
