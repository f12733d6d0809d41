"""The backprop inspector's computations: histograms, the optimizer's next update, the
gradient check, the per-epoch health figures and the hidden-unit decomposition."""

import copy

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bpnet import nn, optim
from bpnet.engine import diagnostics, gradcheck, inspect, units
from bpnet.errors import ConfigError

OPTIMIZERS = {
    "sgd": lambda p: optim.SGD(p, lr=0.1),
    "momentum": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, weight_decay=0.01),
    "nesterov": lambda p: optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True),
    "adam": lambda p: optim.Adam(p, lr=0.01, weight_decay=0.01),
    "adamw": lambda p: optim.AdamW(p, lr=0.01),
    "rmsprop": lambda p: optim.RMSprop(p, lr=0.01, momentum=0.5),
}
ACTIVATIONS = [nn.ReLU, nn.LeakyReLU, nn.Sigmoid, nn.Tanh]


def mlp(activation=nn.Tanh, sizes=(3, 16, 8, 2), seed=0):
    rng = np.random.default_rng(seed)
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, generator=rng), activation()]
    return nn.Sequential(*layers[:-1])


def batch(rng, n=32, features=3, classes=2):
    return rng.standard_normal((n, features)).astype(np.float32), rng.integers(0, classes, n)


def train_step(model, optimizer, x, y, criterion=None):
    criterion = criterion or nn.CrossEntropyLoss()
    optimizer.zero_grad()
    criterion(model(x), y)
    model.backward(criterion.backward(), input_grad=False)
    optimizer.step()


def snapshot(model):
    return {name: array.copy() for name, array in model.state_dict().items()}


def test_histogram_counts_every_value_in_at_most_fifty_bins(rng):
    values = rng.standard_normal((40, 25))
    h = inspect.histogram(values)
    assert len(h["counts"]) <= 50 and len(h["edges"]) == len(h["counts"]) + 1
    assert sum(h["counts"]) == h["total"] == 1000 and not h["sampled"]
    assert h["edges"] == sorted(h["edges"]) and h["edges"][0] <= values.min()
    assert inspect.histogram(np.full(5, 3.0))["counts"].count(5) == 1  # one value, one bin


def test_histogram_samples_huge_arrays_and_counts_non_finite_values():
    values = np.arange(1_000_000, dtype=np.float32)
    h = inspect.histogram(values)
    assert h["sampled"] and h["total"] == 1_000_000
    assert sum(h["counts"]) <= inspect.HISTOGRAM_SAMPLE
    assert inspect.histogram(np.array([1.0, np.nan, np.inf, 2.0]))["nonfinite"] == 2


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_update_preview_is_the_next_step_and_changes_nothing(name, rng):
    model = mlp()
    optimizer = OPTIMIZERS[name](model.parameters())
    for _ in range(2):  # momentum buffers and Adam's moments are not empty any more
        train_step(model, optimizer, *batch(rng))
    x, y = batch(rng)
    criterion = nn.CrossEntropyLoss()
    optimizer.zero_grad()
    criterion(model(x), y)
    model.backward(criterion.backward(), input_grad=False)
    state_before = copy.deepcopy(optimizer.state_dict())
    weights_before = snapshot(model)
    previews = [inspect.update_preview(optimizer, p, p.grad) for p in model.parameters()]
    assert optimizer.state_dict().keys() == state_before.keys()
    for index, state in state_before["state"].items():
        for key, value in state.items():
            assert_array_equal(optimizer.state_dict()["state"][index][key], value)
    optimizer.step()
    for (key, old), delta in zip(weights_before.items(), previews):
        assert_allclose(model.state_dict()[key] - old, delta, rtol=1e-5, atol=1e-7, err_msg=key)


def test_update_preview_uses_a_pending_learning_rate(rng):
    model = mlp()
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    x, y = batch(rng)
    criterion = nn.CrossEntropyLoss()
    criterion(model(x), y)
    model.backward(criterion.backward(), input_grad=False)
    weight = model[0].weight
    assert_allclose(
        inspect.update_preview(optimizer, weight, weight.grad, lr=0.05),
        -0.05 * weight.grad,
        atol=1e-7,  # Δw is a difference of float32 weights: exact to their rounding
    )


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_gradcheck_agrees_with_backprop_and_leaves_the_network_alone(activation, rng):
    model = mlp(activation)
    optimizer = optim.Adam(model.parameters())
    train_step(model, optimizer, *batch(rng))
    before = snapshot(model)
    grads = [p.grad.copy() for p in model.parameters()]
    x, y = batch(rng)
    for layer in range(3):
        result = gradcheck.gradcheck(model, nn.CrossEntropyLoss(), x, y, layer, 8, rng)
        assert len(result["checks"]) == 8 and result["name"] == f"Linear {layer + 1}"
        assert result["max_relative_error"] < 1e-6, result
        assert all(check["backprop"] != 0 or check["numerical"] == 0 for check in result["checks"])
    for key, value in snapshot(model).items():
        assert_array_equal(value, before[key])
    for p, grad in zip(model.parameters(), grads):
        assert_array_equal(p.grad, grad)


def test_a_layer_that_does_not_exist_is_refused_with_the_choices(rng):
    with pytest.raises(ConfigError, match=r"layer must be one of 0 \(Linear 1\), 1"):
        gradcheck.gradcheck(mlp(), nn.CrossEntropyLoss(), *batch(rng), 7, 5, rng)


def test_work_over_the_time_budget_is_refused_before_it_starts(rng):
    model = mlp(nn.ReLU, sizes=(784, 1024, 1024, 1024, 10))
    x = np.zeros((4096, 784), np.float32)
    y = np.zeros(4096, np.int64)
    optimizer = optim.SGD(model.parameters(), lr=0.1)
    with pytest.raises(
        ConfigError, match=r"batch of 4096 would take about .* batch size of at most \d+"
    ):
        inspect.inspect_batch(model, nn.CrossEntropyLoss(), optimizer, x, y)
    with pytest.raises(ConfigError, match="a later layer"):
        gradcheck.gradcheck(model, nn.CrossEntropyLoss(), x[:64], y[:64], 0, 20, rng)


def test_inspection_reports_every_layer_without_changing_anything(rng):
    model = mlp(nn.ReLU)
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    train_step(model, optimizer, *batch(rng))
    before, state = snapshot(model), copy.deepcopy(optimizer.state_dict())
    report = inspect.inspect_batch(model, nn.CrossEntropyLoss(), optimizer, *batch(rng))
    assert [layer["name"] for layer in report["layers"]] == ["Linear 1", "Linear 2", "Linear 3"]
    first = report["layers"][0]
    assert set(first["histograms"]) == {
        "activation",
        "activation_grad",
        "weight",
        "weight_grad",
        "update",
    }
    assert first["histograms"]["activation"]["total"] == 32 * 16
    assert first["histograms"]["weight"]["total"] == 16 * 3
    assert 0 <= first["dead_relu"] <= 1 and first["saturated"] is None
    assert first["update_ratio"] == pytest.approx(first["update_norm"] / first["weight_norm"])
    assert report["layers"][2]["activation"] is None  # the output layer has none
    for key, value in snapshot(model).items():
        assert_array_equal(value, before[key])
    assert_array_equal(
        optimizer.state_dict()["state"][0]["momentum_buffer"], state["state"][0]["momentum_buffer"]
    )
    one = inspect.inspect_batch(model, nn.CrossEntropyLoss(), optimizer, *batch(rng), layer=1)
    assert [layer["name"] for layer in one["layers"]] == ["Linear 2"]


def test_dead_units_are_those_at_zero_for_every_example():
    activation = np.array([[0.0, 1.0, 0.0, 0.0], [0.0, 0.0, 0.0, 2.0]])
    assert inspect.dead_share(activation) == 0.5


def test_non_linear_weight_layers_are_named_by_their_type():
    class Scale(nn.Module):  # a stand-in for a layer that is not Linear but has a weight
        def __init__(self):
            super().__init__()
            self.weight = nn.Parameter(np.ones(4, np.float32))

    names = [
        layer.name
        for layer in inspect.weight_layers(nn.Sequential(Scale(), nn.ReLU(), nn.Linear(4, 1)))
    ]
    assert names == ["Scale 1", "Linear 2"]


def test_watch_warns_about_dead_relus_saturation_and_update_size(rng):
    model = mlp(nn.ReLU)
    model[0].bias.data[:] = -100.0  # every unit of the first layer is dead
    watch = diagnostics.Watch(inspect.weight_layers(model))
    optimizer = optim.SGD(model.parameters(), lr=10.0)  # far too large: huge updates
    for _ in range(3):
        x, y = batch(rng)
        before = watch.before_step()
        train_step(model, optimizer, x, y)
        watch.after_step(before)
    report = watch.report()
    assert report["diagnostics"][0]["dead_relu"] == 1.0
    kinds = {(w["name"], w["kind"]) for w in report["warnings"]}
    assert ("Linear 1", "dead_relu") in kinds and ("Linear 3", "update_ratio_high") in kinds
    assert all(w["message"].startswith(w["name"]) and w["advice"] for w in report["warnings"])
    assert watch.report()["diagnostics"][0]["update_ratio"] is None  # reset after a report

    saturated = mlp(nn.Sigmoid)
    saturated[0].weight.data *= 100.0
    watch = diagnostics.Watch(inspect.weight_layers(saturated))
    optimizer = optim.SGD(saturated.parameters(), lr=1e-3)
    before = watch.before_step()
    train_step(saturated, optimizer, *batch(rng))
    watch.after_step(before)
    report = watch.report()
    assert report["diagnostics"][0]["saturated"] > 0.5
    assert "saturated" in {w["kind"] for w in report["warnings"] if w["layer"] == 0}


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_unit_contributions_plus_bias_sum_to_the_fit(activation, rng):
    model = mlp(activation, sizes=(1, 64, 64, 1))
    x = np.linspace(-2, 2, 200, dtype=np.float32)[:, None]
    contributions, bias = units.decompose(model, x)
    assert contributions.shape == (200, 64)
    assert_allclose(contributions.sum(axis=1) + bias, model(x)[:, 0], rtol=0, atol=1e-6)
    top = units.largest(contributions, 16)
    peaks = np.abs(contributions).max(axis=0)
    assert len(top) == 16 and peaks[top].min() >= np.delete(peaks, top).max()


def test_first_layer_images_show_the_units_that_moved_most():
    model = mlp(nn.ReLU, sizes=(784, 32, 10))
    initial = units.first_weight(model).copy()
    model[0].weight.data[5] += 1.0
    model[0].weight.data[9] += 0.5
    images = units.first_layer_images(model, initial, side=28, count=16)
    assert images["units"][:2] == [5, 9] and len(images["images"]) == 16
    assert np.shape(images["images"][0]) == (28, 28)
    assert units.first_layer_images(mlp(), None, side=28, count=16) == {}


def test_a_convolutional_network_is_inspected_and_checked_layer_by_layer(rng):
    from bpnet.engine.networks import build_cnn

    model = build_cnn([4, 8], nn.ReLU, 10, np.random.default_rng(0))
    optimizer = optim.SGD(model.parameters(), lr=0.05, momentum=0.9)
    x = rng.random((4, 1, 28, 28), dtype=np.float32)
    y = rng.integers(0, 10, 4)
    train_step(model, optimizer, x, y)
    before = snapshot(model)
    report = inspect.inspect_batch(model, nn.CrossEntropyLoss(), optimizer, x, y)
    names = [layer["name"] for layer in report["layers"]]
    assert names[:2] == ["Conv2d 1", "Conv2d 2"] and names[-1].startswith("Linear")
    assert report["layers"][0]["histograms"]["activation"]["total"] == 4 * 4 * 28 * 28  # padded 5×5 convolution
    assert 0 <= report["layers"][0]["dead_relu"] <= 1  # a channel is a unit
    for layer in range(len(names)):
        result = gradcheck.gradcheck(model, nn.CrossEntropyLoss(), x, y, layer, 5, rng)
        assert result["max_relative_error"] < 1e-4, result  # max-pooling's kinks: see EPS
    for key, value in snapshot(model).items():
        assert_array_equal(value, before[key])
