"""The classify task: its config (the user's points above all) is validated field by field,
L1/L2 penalties match PyTorch's loss and gradient, and a job reports the boundary, the
neurons' maps and the weights in events that stay small."""

import base64
import json

import numpy as np
import pytest

from bpnet import nn
from bpnet.engine import ConfigError, TrainingJob, parse_config
from bpnet.engine.tasks import build_task
from bpnet.engine.tasks.classify import MAX_POINTS, SHOWN_NEURONS, encode_map
from bpnet.engine.tasks.penalty import Penalized


def refused(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config({"task": "classify", **config})
    return caught.value


def user_points(n: int, seed: int = 0) -> list[list[float]]:
    """Class 1 right of x = 0, class 0 left of it, within the square."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(-5, 5, (n, 2))
    return [[round(x, 3), round(y, 3), int(x > 0)] for x, y in xy]


@pytest.mark.parametrize(
    ("points", "field", "words"),
    [
        (user_points(MAX_POINTS + 1), "points", str(MAX_POINTS)),
        ([[0, 0, 2], [1, 1, 0]], "points", "labels are 0 or 1"),
        ([[0, 0, 0.5], [1, 1, 0]], "points", "labels are 0 or 1"),
        ([[0, 7, 1], [1, 1, 0]], "points", "outside the square"),
        ([[0, 0, 1], [-6.5, 1, 0]], "points", "x and y go from -6 to 6"),
        ([["a", 0, 1], [1, 1, 0]], "points.0.0", "number"),
        ([[0, 0], [1, 1, 0]], "points.0", "3"),
        ([[0, 0, 1]], "points", "at least 2 points"),
        (None, "points", "at least 2 points"),
    ],
)
def test_bad_points_are_refused_with_the_field_named(points, field, words):
    error = refused({"dataset": "points", "points": points})
    assert error.field == field
    assert words in error.message and "points" in error.message


def test_points_need_the_points_dataset():
    assert refused({"dataset": "circle", "points": [[0, 0, 1], [1, 1, 0]]}).field == "points"


@pytest.mark.parametrize(
    ("config", "field"),
    [
        ({"features": []}, "features"),
        ({"features": ["x", "z"]}, "features.1"),
        ({"features": ["x", "x"]}, "features"),
        ({"noise": 0.6}, "noise"),
        ({"train_ratio": 95}, "train_ratio"),
        ({"n_samples": 5001}, "n_samples"),
        ({"grid": 10}, "grid"),
        ({"regularization": "l3"}, "regularization"),
        ({"dataset": "moons"}, "dataset"),
    ],
)
def test_other_bad_fields_are_refused_by_name(config, field):
    assert refused(config).field == field


@pytest.mark.parametrize("kind", ["l1", "l2"])
def test_penalised_loss_and_gradient_match_torch(kind, torch):
    rng = np.random.default_rng(0)
    model = nn.Sequential(nn.Linear(3, 5), nn.Tanh(), nn.Linear(5, 2)).double()
    x, y = rng.standard_normal((16, 3)), rng.integers(0, 2, 16)
    weights = [model[0].weight, model[2].weight]
    loss_fn = Penalized(nn.CrossEntropyLoss(), weights, kind, rate=0.03)
    model.zero_grad()
    loss = loss_fn(model(x), y)
    model.backward(loss_fn.backward())

    tw = [torch.tensor(w.data, requires_grad=True) for w in weights]
    tb = [torch.tensor(b.data) for b in (model[0].bias, model[2].bias)]
    hidden = torch.tanh(torch.tensor(x) @ tw[0].T + tb[0])
    data_loss = torch.nn.functional.cross_entropy(hidden @ tw[1].T + tb[1], torch.tensor(y))
    penalty = sum(w.abs().sum() if kind == "l1" else 0.5 * (w**2).sum() for w in tw)
    reference = data_loss + 0.03 * penalty
    reference.backward()
    assert loss == pytest.approx(reference.item(), rel=1e-10)
    for w, t in zip(weights, tw):
        np.testing.assert_allclose(w.grad, t.grad.numpy(), rtol=1e-9, atol=1e-12)


def test_penalty_gradient_is_added_when_there_is_no_gradient_array_yet():
    weight = nn.Parameter(np.array([[1.0, -2.0]]))
    weight.grad = None  # what zero_grad(set_to_none) leaves
    loss_fn = Penalized(nn.MSELoss(), [weight], "l2", rate=0.5)
    loss_fn(np.zeros((1, 1)), np.zeros((1, 1)))
    loss_fn.backward()
    np.testing.assert_allclose(weight.grad, [[0.5, -1.0]])


def decode(encoded: dict, side: int) -> np.ndarray:
    data = np.frombuffer(base64.b64decode(encoded["bytes"]), dtype=np.uint8).reshape(side, side)
    return encoded["low"] + data / 255 * (encoded["high"] - encoded["low"])


def test_a_map_survives_encoding_to_within_one_step():
    values = np.linspace(-3, 5, 36).reshape(6, 6)
    np.testing.assert_allclose(decode(encode_map(values), 6), values, atol=8 / 255 / 2 + 1e-9)
    assert set(decode(encode_map(np.full((2, 2), 7.0)), 2).ravel()) == {7.0}


def run(config: dict) -> list[dict]:
    events: list[dict] = []
    job = TrainingJob(parse_config({"task": "classify", **config}))
    job.run(events.append)
    assert job.state == "finished", job.message
    return events


def test_a_job_reports_boundary_neurons_and_weights():
    config = {"dataset": "xor", "hidden": [12, 3], "epochs": 5, "grid": 30,
              "features": ["x", "y", "xy"], "regularization": "l1", "reg_rate": 0.01}  # fmt: skip
    events = run(config)
    dataset = next(e for e in events if e["event"] == "dataset")
    assert dataset["layer_sizes"] == [3, 12, 3, 2]
    assert [f["name"] for f in dataset["features"]] == ["x", "y", "xy"]
    assert len(dataset["train"]["x"]) == len(dataset["train"]["label"]) == 250
    last = [e for e in events if e["event"] == "epoch"][-1]
    boundary = decode(last["boundary"], 30)
    assert 0 <= boundary.min() and boundary.max() <= 1
    assert [len(layer) for layer in last["neurons"]] == [SHOWN_NEURONS, 3]
    assert np.array(last["weights"][0]).shape == (SHOWN_NEURONS, 3)
    assert np.array(last["weights"][2]).shape == (2, 3)
    assert {"val_accuracy", "train_accuracy"} <= set(last)
    for event in events:
        json.dumps(event, allow_nan=False)


def test_the_largest_epoch_event_stays_under_64_kb():
    # widths past SHOWN_NEURONS add nothing to the event: 8 per layer is as large as 1024
    config = {"hidden": [SHOWN_NEURONS] * 6, "grid": 100, "epochs": 1, "n_samples": 100,
              "features": ["x", "y", "x2", "y2", "xy", "sinx", "siny"]}  # fmt: skip
    epoch = [e for e in run(config) if e["event"] == "epoch"][-1]
    assert len(json.dumps(epoch)) < 64 * 1024


def test_the_reported_losses_include_the_l2_penalty():
    config = parse_config({"task": "classify", "regularization": "l2", "reg_rate": 0.5})
    task = build_task(config)
    model = task.build_model()
    weights = [m.weight.data for m in model.modules() if isinstance(m, nn.Linear)]
    penalty = 0.5 * 0.5 * sum(float((w.astype(np.float64) ** 2).sum()) for w in weights)
    data_loss = nn.CrossEntropyLoss()
    xb, yb = next(task.batches())
    assert task.criterion(model(xb), yb) == pytest.approx(data_loss(model(xb), yb) + penalty)
    val_loss = task.evaluate(model, 1)["val_loss"]
    assert val_loss == pytest.approx(data_loss(model(task.x_val), task.val[1]) + penalty)


def test_a_job_learns_forty_user_points():
    points = user_points(40)
    events = run({"dataset": "points", "points": points, "epochs": 200})
    last = [e for e in events if e["event"] == "epoch"][-1]
    assert last["train_accuracy"] == 1.0 and last["val_accuracy"] >= 0.9
    dataset = next(e for e in events if e["event"] == "dataset")
    assert len(dataset["train"]["x"]) + len(dataset["val"]["x"]) == 40
