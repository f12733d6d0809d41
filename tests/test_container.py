"""Sequential: composition forward, the chain rule backward, and parity with torch.nn.Sequential."""

import numpy as np
import pytest
from helpers import check_gradients, torch_module
from numpy.testing import assert_allclose, assert_array_equal

from bpnet import nn


def test_sequential_forward_is_the_composition_of_its_modules(rng):
    first, second = nn.Linear(3, 4), nn.Linear(4, 2)
    model = nn.Sequential(first, nn.Tanh(), second)
    x = rng.standard_normal((5, 3)).astype(np.float32)
    assert_allclose(model(x), second(np.tanh(first(x))), rtol=1e-6)


def test_sequential_indexing_len_iteration_and_append():
    relu = nn.ReLU()
    model = nn.Sequential(nn.Linear(2, 3), relu)
    assert len(model) == 2 and model[1] is relu and model[-1] is relu
    assert list(model) == [model[0], relu]
    tail = nn.Linear(3, 1)
    assert model.append(tail) is model
    assert model[2] is tail
    assert [name for name, _ in model.named_children()] == ["0", "1", "2"]
    assert [name for name, _ in model.named_parameters()][-2:] == ["2.weight", "2.bias"]


def test_sequential_rejects_things_that_are_not_modules():
    with pytest.raises(TypeError, match="Sequential takes Modules, got ufunc"):
        nn.Sequential(nn.Linear(2, 2), np.tanh)


def test_sequential_mlp_grad_matches_finite_difference(rng):
    model = nn.Sequential(
        nn.Linear(3, 4, dtype=np.float64),
        nn.Tanh(),
        nn.Linear(4, 4, dtype=np.float64),
        nn.Sigmoid(),
        nn.Linear(4, 3, dtype=np.float64),
        nn.LeakyReLU(0.1),
        nn.Linear(3, 2, dtype=np.float64),
        nn.Softmax(dim=-1),
    )
    check_gradients(model, rng.standard_normal((4, 3)))


def test_sequential_with_flatten_grad_matches_finite_difference(rng):
    model = nn.Sequential(nn.Flatten(), nn.Linear(6, 2), nn.Tanh()).double()
    check_gradients(model, rng.standard_normal((3, 2, 3)))


def test_sequential_forward_and_backward_match_torch(torch, rng):
    model = nn.Sequential(
        nn.Flatten(),
        nn.Linear(12, 16),
        nn.ReLU(),
        nn.Linear(16, 8),
        nn.Sigmoid(),
        nn.Linear(8, 8, bias=False),
        nn.Tanh(),
        nn.Linear(8, 5),
        nn.Softmax(dim=1),
    )
    reference = torch_module(model, torch)
    x = rng.standard_normal((10, 3, 4)).astype(np.float32)
    upstream = rng.standard_normal((10, 5)).astype(np.float32)
    y = model(x)
    input_grad = model.backward(upstream, input_grad=True)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = reference(x_t)
    y_t.backward(torch.from_numpy(upstream))

    assert_allclose(y, y_t.detach().numpy(), rtol=1e-5, atol=1e-6)
    assert_allclose(input_grad, x_t.grad.numpy(), rtol=1e-5, atol=1e-6)
    theirs = dict(reference.named_parameters())
    for name, p in model.named_parameters():
        assert_allclose(p.grad, theirs[name].grad.numpy(), rtol=1e-5, atol=1e-6, err_msg=name)


def test_backward_without_input_grad_skips_leading_layers_and_returns_none(rng):
    model = nn.Sequential(nn.Flatten(), nn.Dropout(0.0), nn.Linear(6, 3), nn.Tanh())
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    upstream = rng.standard_normal((4, 3)).astype(np.float32)
    model(x)
    assert model.backward(upstream, input_grad=True).shape == x.shape
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    assert model.backward(upstream, input_grad=False) is None
    for p, g in zip(model.parameters(), expected):
        assert_array_equal(p.grad, g)


def test_backward_without_input_grad_through_nested_sequential(rng):
    model = nn.Sequential(nn.Sequential(nn.Flatten(), nn.Linear(6, 3)), nn.Tanh(), nn.Linear(3, 2))
    x = rng.standard_normal((4, 2, 3)).astype(np.float32)
    upstream = rng.standard_normal((4, 2)).astype(np.float32)
    model(x)
    model.backward(upstream)
    expected = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    assert model.backward(upstream, input_grad=False) is None
    for p, g in zip(model.parameters(), expected):
        assert_array_equal(p.grad, g)


def test_backward_without_parameters_and_without_input_grad_returns_none():
    model = nn.Sequential(nn.Tanh(), nn.ReLU())
    model(np.ones((2, 2)))
    assert model.backward(np.ones((2, 2)), input_grad=False) is None
    assert_allclose(
        model.backward(np.ones((2, 2)), input_grad=True), (1 - np.tanh(1.0) ** 2) * np.ones((2, 2))
    )


def test_empty_sequential_is_the_identity():
    x = np.arange(3.0)
    empty = nn.Sequential()
    assert_array_equal(empty(x), x)
    assert_array_equal(empty.backward(x, input_grad=True), x)
