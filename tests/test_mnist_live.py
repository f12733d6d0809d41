"""The MNIST extras over the wire: predict on a drawn digit, the images behind the
confusion matrix, and weights downloaded from a live job that rebuild its fit."""

import base64
import json
import math
import urllib.request

import numpy as np
import pytest
from live_server import Client

import bpnet
from bpnet.datasets import load_mnist, planar

MNIST = {"task": "mnist", "epochs": 2, "hidden": [32], "train_subset": 2000, "lr": 0.1}
JOBS = {
    "curve": {"task": "curve", "expression": "sin(3*x)*exp(-x^2)", "epochs": 200},
    "surface": {"task": "surface", "epochs": 20, "grid": 12},
    "mnist": MNIST,
    "classify": {"task": "classify", "dataset": "xor", "epochs": 20, "grid": 20},
}


def get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=10) as response:
        return response.read()


def finished(client: Client, config: dict) -> str:
    ack = client.call("start", config)
    assert ack["ok"], ack
    assert client.wait_until_ended(timeout=120) == "finished"
    return ack["job"]


def test_a_validation_digit_gets_the_jobs_own_guess_during_and_after_training(client):
    assert "press Start" in client.call("predict", {"pixels": [0] * 784})["error"]
    ack = client.call("start", {**MNIST, "epochs": 3})
    client.wait_for(lambda c: c.of("dataset"))
    client.wait_for(lambda c: c.call("predict", {"pixels": [0.1] * 784})["ok"])
    during = client.call("predict", {"pixels": [0.1] * 784})
    assert during["job"] == ack["job"] and len(during["probs"]) == 10
    assert client.wait_until_ended(timeout=120) == "finished"
    last = client.of("epoch")[-1]
    for sample in last["samples"]:
        answer = client.call("predict", {"pixels": [p / 255 for p in sample["pixels"]]})
        assert answer["ok"], answer
        assert math.isclose(sum(answer["probs"]), 1, rel_tol=1e-4)
        assert int(np.argmax(answer["probs"])) == sample["pred"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"pixels": [0.5] * 100}, "pixels"),
        ({"pixels": [0.5] * 783 + [math.nan]}, "pixels"),
        ({"pixels": [2] * 784}, "pixels"),
        ({"pixels": [0] * 784, "extra": 1}, "extra"),
        ("pixels", None),
    ],
)
def test_bad_pixels_are_refused_by_field_and_the_tab_carries_on(client, payload, field):
    answer = client.call("predict", payload)
    assert answer["ok"] is False and answer["field"] == field, answer
    assert client.call("status")["ok"]


def test_a_curve_job_does_not_read_digits(client):
    finished(client, {"task": "curve", "epochs": 5})
    answer = client.call("predict", {"pixels": [0] * 784})
    assert answer["ok"] is False and "curve" in answer["error"]


def test_epoch_events_stay_small_and_their_images_can_be_fetched(client, server):
    finished(client, MNIST)
    last = client.of("epoch")[-1]
    assert len(json.dumps(last)) < 64 * 1024
    counts = np.array(last["confusion"]["counts"])
    assert counts.sum() == 10_000 and np.trace(counts) / 10_000 == last["val_accuracy"]
    x_test, y_test = load_mnist("test")
    cell = last["confusion"]["examples"][3][3]  # threes read as threes
    assert 0 < len(cell) <= 12 and all(y_test[i] == 3 for i in cell)
    mistakes = last["mistakes"]
    assert len(mistakes) == 12 and all(m["label"] != m["pred"] for m in mistakes)
    indices = cell + [m["index"] for m in mistakes]
    body = get(f"{server}/datasets/mnist/test/images?indices={','.join(map(str, indices))}")
    pixels = np.frombuffer(body, np.uint8).reshape(len(indices), 784)
    np.testing.assert_array_equal(pixels, np.rint(x_test[indices] * 255))


@pytest.mark.parametrize("query", ["indices=", "indices=1,x", "indices=10000", "indices=-1"])
def test_bad_image_requests_are_refused(server, query):
    with pytest.raises(urllib.error.HTTPError) as caught:
        get(f"{server}/datasets/mnist/test/images?{query}")
    assert caught.value.code == 400
    assert get(f"{server}/datasets/mnist/test/images?indices=0")  # still serving


@pytest.mark.parametrize("task", list(JOBS))
def test_downloaded_weights_rebuild_the_jobs_last_fit(client, server, task, tmp_path):
    job = finished(client, JOBS[task])
    dataset, last = client.of("dataset")[-1], client.of("epoch")[-1]
    path = tmp_path / "weights.npz"
    path.write_bytes(get(f"{server}/jobs/{job}/weights.npz"))
    _, info = bpnet.load_model(path)
    assert info.task == task and info.config == dataset["config"]
    if task == "curve":
        fit = info.predict(np.asarray(dataset["x"]))[:, 0]
        np.testing.assert_allclose(fit, last["y_pred"], atol=1e-4)
    elif task == "surface":
        xs, ys = np.meshgrid(dataset["x"], dataset["y"])
        fit = info.predict(np.column_stack([xs.ravel(), ys.ravel()]))[:, 0]
        np.testing.assert_allclose(fit.reshape(xs.shape), last["z_pred"], atol=1e-4)
    elif task == "mnist":
        x_test, y_test = load_mnist("test")
        accuracy = (info.predict(x_test).argmax(axis=1) == y_test).mean()
        assert abs(accuracy - last["val_accuracy"]) <= 1e-4
    else:  # the decision boundary: P(class 1) over the square, sent as bytes 0..255
        side = JOBS[task]["grid"]
        inputs = planar.features(planar.grid(side), info.features)
        boundary = info.predict(inputs)[:, 1].reshape(side, side)
        sent = np.frombuffer(base64.b64decode(last["boundary"]["bytes"]), np.uint8) / 255
        np.testing.assert_allclose(boundary.ravel(), sent, atol=1 / 255)
