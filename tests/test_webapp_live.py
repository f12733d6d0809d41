"""The real server in a subprocess, a real Socket.IO client over WebSocket."""

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
        "/vendor/plotly.min.js",
        "/static/vendor/socket.io.min.js",
    ]:
        with urllib.request.urlopen(url + path, timeout=10) as response:
            assert response.status == 200
            body = response.read()
            assert len(body) > 100
            if path.endswith(".html") or "." not in path:
                assert b"cdn" not in body.lower() and b"https://" not in body
