"""The instruments over the wire: the real server, a real Socket.IO client. Step a paused
job, inspect its next batch, check its gradients, and download its weights around it."""

import io
from urllib.request import urlopen

import numpy as np
import pytest

# 64 training points in batches of 16: four batches an epoch
CURVE = {"task": "curve", "epochs": 50, "hidden": [16, 16], "n_train": 64, "batch_size": 16}
HISTOGRAMS = {"activation", "activation_grad", "weight", "weight_grad", "update"}


def start_paused(client, **config):
    ack = client.call("start", {**CURVE, "paused": True, **config})
    assert ack["ok"], ack
    client.wait_for(lambda c: c.final_state() == "paused")
    return ack["job"]


def step(client, unit):
    """Step and wait until the job is paused again; returns the events it sent meanwhile."""
    before = len(client.events)
    assert client.call("step", {"unit": unit}) == {"ok": True}

    def paused_again(c):
        states = [payload["state"] for name, payload, _ in c.events[before:] if name == "status"]
        return states[-1:] == ["paused"]

    client.wait_for(paused_again)
    return [(name, payload) for name, payload, _ in client.events[before:]]


def weights(server, job):
    with urlopen(f"{server}/jobs/{job}/weights.npz", timeout=10) as response:
        return dict(np.load(io.BytesIO(response.read())))


def test_step_advances_exactly_one_batch_or_one_epoch_and_pauses(client):
    start_paused(client)
    assert client.of("epoch") == [] and client.of("progress") == []
    events = step(client, "batch")
    progress = [p for name, p in events if name == "progress"]
    assert [(p["epoch"], p["batch"], p["batches"]) for p in progress] == [(1, 1, 4)]
    assert [name for name, _ in events if name == "epoch"] == []
    assert client.of("status")[-1]["message"] == "paused at epoch 1, batch 1/4"
    events = step(client, "epoch")  # the rest of epoch 1
    assert [p["epoch"] for name, p in events if name == "epoch"] == [1]
    events = step(client, "epoch")  # all of epoch 2
    assert [p["epoch"] for name, p in events if name == "epoch"] == [2]
    assert client.of("status")[-1]["message"] == "paused before epoch 3"


def test_step_is_refused_while_running_and_without_a_unit(client):
    assert client.call("start", {**CURVE, "epochs": 100_000})["ok"]
    client.wait_for(lambda c: c.of("epoch"))
    ack = client.call("step", {"unit": "batch"})
    assert ack["ok"] is False and "only while the job is paused" in ack["error"]
    for payload, field in [({}, "unit"), ({"unit": "week"}, "unit"), ({"units": "batch"}, "units")]:
        ack = client.call("step", payload)
        assert ack["ok"] is False and ack["field"] == field, ack
    ack = client.call("inspect", {})
    assert ack["ok"] is False and "only while the job is paused" in ack["error"]


def test_inspect_answers_with_histograms_and_figures_per_layer(client):
    start_paused(client, activation="relu")
    step(client, "batch")
    ack = client.call("inspect", {})
    assert ack["ok"], ack
    assert (ack["epoch"], ack["batch"], ack["batches"], ack["batch_size"]) == (1, 1, 4, 16)
    assert [layer["name"] for layer in ack["layers"]] == ["Linear 1", "Linear 2", "Linear 3"]
    for layer in ack["layers"]:
        assert set(layer["histograms"]) == HISTOGRAMS
        for histogram in layer["histograms"].values():
            assert 1 <= len(histogram["counts"]) <= 50
            assert len(histogram["edges"]) == len(histogram["counts"]) + 1
            assert sum(histogram["counts"]) == histogram["total"]
        assert layer["update_ratio"] > 0
    assert 0 <= ack["layers"][0]["dead_relu"] <= 1 and ack["layers"][2]["dead_relu"] is None
    one = client.call("inspect", {"layer": 2})
    assert [layer["name"] for layer in one["layers"]] == ["Linear 3"]
    refused = client.call("inspect", {"layer": 3})
    assert refused["ok"] is False and refused["field"] == "layer" and "Linear 3" in refused["error"]


@pytest.mark.parametrize("activation", ["relu", "leaky_relu", "sigmoid", "tanh"])
def test_gradcheck_matches_backprop_and_leaves_the_weights_bit_identical(
    client, server, activation
):
    job = start_paused(client, activation=activation)
    step(client, "batch")
    before = weights(server, job)
    for layer in range(3):
        ack = client.call("gradcheck", {"layer": layer, "k": 5})
        assert ack["ok"], ack
        assert ack["layer"] == layer and ack["name"] == f"Linear {layer + 1}"
        assert len(ack["checks"]) == 5
        for check in ack["checks"]:
            assert {"index", "backprop", "numerical", "relative_error"} <= set(check)
            assert check["relative_error"] < 1e-6, check
    assert client.call("inspect", {})["ok"]
    after = weights(server, job)
    assert before.keys() == after.keys()
    for key in before:
        assert before[key].tobytes() == after[key].tobytes(), key
    refused = client.call("gradcheck", {"layer": 0, "k": 500})
    assert refused["ok"] is False and refused["field"] == "k"
