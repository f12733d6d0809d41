"""The real server in a subprocess, a real Socket.IO client over WebSocket."""

import base64
import time

import numpy as np
import pytest
from live_server import Client, live_server


@pytest.fixture(scope="module")
def server():
    with live_server() as (url, process):
        yield url, process


@pytest.fixture
def client(server):
    client = Client(server[0])
    yield client
    client.close()


def test_a_curve_job_learns_sin_over_the_wire(client):
    ack = client.call("start", {"task": "curve", "expression": "sin(x)", "epochs": 300})
    assert ack["ok"], ack
    assert client.wait_until_ended() == "finished"
    dataset = client.of("dataset")[0]
    assert dataset["job"] == ack["job"] and len(dataset["y_true"]) == 200
    epochs = client.of("epoch")
    assert epochs[-1]["epoch"] == 300
    assert epochs[-1]["val_loss"] * 10 <= epochs[0]["val_loss"]


def test_a_hostile_expression_is_refused_and_nothing_runs(client, tmp_path):
    canary = tmp_path / "canary"
    for expression in [
        f"__import__('os').system('touch {canary}')",
        "().__class__.__bases__[0].__subclasses__()",
        "sin(x) if open('/etc/passwd') else 0",
        "[c for c in ().__class__.__base__.__subclasses__()]",
    ]:
        ack = client.call("start", {"task": "curve", "expression": expression})
        assert ack["ok"] is False and ack["field"] == "expression", ack
    assert not canary.exists()
    assert client.call("start", {"task": "curve", "epochs": 5})["ok"]  # still serving
    assert client.wait_until_ended() == "finished"


def test_pages_and_assets_are_served_locally(server):
    import urllib.request

    url = server[0]
    for path in [
        "/",
        "/curve",
        "/surface",
        "/mnist",
        "/classify",
        "/vendor/plotly.min.js",
        "/static/vendor/plotly-cartesian.min.js",
        "/static/vendor/socket.io.min.js",
    ]:
        with urllib.request.urlopen(url + path, timeout=10) as response:
            assert response.status == 200
            body = response.read()
            assert len(body) > 100
            if path.endswith(".html") or "." not in path:
                assert b"cdn" not in body.lower() and b"https://" not in body


TARGETS = {"circle": 0.95, "xor": 0.95, "gaussian": 0.95, "spiral": 0.9}


@pytest.mark.parametrize("dataset", list(TARGETS))
def test_each_point_set_is_learned_by_the_default_network_over_the_wire(client, dataset):
    ack = client.call("start", {"task": "classify", "dataset": dataset})
    assert ack["ok"], ack
    assert client.wait_until_ended(timeout=120) == "finished"
    last = client.of("epoch")[-1]
    assert last["epoch"] == last["epochs"]
    assert last["val_accuracy"] >= TARGETS[dataset], last["val_accuracy"]
    side = client.of("dataset")[0]["config"]["grid"]
    assert len(base64.b64decode(last["boundary"]["bytes"])) == side * side


def test_a_points_job_learns_forty_clicked_points(client):
    rng = np.random.default_rng(7)
    xy = rng.uniform(-5, 5, (40, 2))
    points = [[round(x, 2), round(y, 2), int(x * x + y * y < 9)] for x, y in xy]
    ack = client.call("start", {"task": "classify", "dataset": "points", "points": points})
    assert ack["ok"], ack
    assert client.wait_until_ended(timeout=120) == "finished"
    assert client.of("epoch")[-1]["train_accuracy"] == 1.0


def test_bad_points_are_refused_over_the_wire_with_the_field(client):
    ack = client.call("start", {"task": "classify", "dataset": "points", "points": [[9, 0, 1]] * 3})
    assert ack["ok"] is False and ack["field"] == "points" and "square" in ack["error"]


@pytest.fixture(scope="module")
def graceful_server():
    with live_server("--grace", "3") as (url, _process):
        yield url


def test_a_page_that_reconnects_within_the_grace_period_attaches_and_sees_every_epoch(
    graceful_server,
):
    first = Client(graceful_server)
    job_id = first.call("start", {"task": "curve", "epochs": 100_000, "hidden": [8]})["job"]
    first.wait_for(lambda c: len(c.of("epoch")) >= 3)
    first.hang_up()  # the reload: the old connection goes, a new one comes
    time.sleep(0.5)
    again = Client(graceful_server)
    try:
        ack = again.call("attach", {"job": job_id})
        assert ack["ok"] and ack["state"] == "running", ack
        k = len(ack["history"]["epoch"])
        assert ack["history"]["epoch"] == list(range(1, k + 1))
        again.wait_for(lambda c: len(c.of("epoch")) >= 3)
        live = [n for e in again.of("epoch") for n in e["history"]["epoch"]]
        assert live[0] <= k + 1 and live == list(range(live[0], live[-1] + 1))
        assert all(e["job"] == job_id for e in again.of("epoch"))
        stranger = Client(graceful_server)
        refused = stranger.call("attach", {"job": job_id[::-1]})
        assert refused["ok"] is False and refused["field"] == "job"
        stranger.close()
    finally:
        again.close()


def test_after_the_grace_period_an_abandoned_job_is_stopped(graceful_server):
    first = Client(graceful_server)
    job_id = first.call("start", {"task": "curve", "epochs": 100_000, "hidden": [8]})["job"]
    first.wait_for(lambda c: c.of("epoch"))
    first.hang_up()
    watcher = Client(graceful_server)
    try:
        assert watcher.call("status", {"job": job_id})["state"] == "running"
        watcher.wait_for(
            lambda c: c.call("status", {"job": job_id})["state"] == "stopped", timeout=15
        )
        assert watcher.call("attach", {"job": job_id})["ok"] is False
    finally:
        watcher.close()
