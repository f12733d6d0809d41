"""Linear and Flatten: shapes, initialisation, gradients by finite differences, PyTorch parity."""

import math

import numpy as np
import pytest
from helpers import check_gradients, torch_module
from numpy.testing import assert_allclose, assert_array_equal

from bpnet import nn

RTOL, ATOL = 1e-5, 1e-6  # float32 agreement for a single op


def test_linear_weight_is_out_by_in_and_bias_has_out_entries():
    layer = nn.Linear(4, 3)
    assert layer.weight.shape == (3, 4)
    assert layer.bias.shape == (3,)
    assert layer(np.zeros((7, 4))).shape == (7, 3)


def test_linear_init_is_uniform_within_one_over_sqrt_in_features():
    layer = nn.Linear(16, 2000)
    bound = 1 / math.sqrt(16)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.99 * bound  # spread over the whole interval
        assert abs(values.mean()) < 0.02
    # the variance of U(-b, b) is b²/3
    assert_allclose(layer.weight.data.var(), bound**2 / 3, rtol=0.05)


def test_linear_generator_argument_makes_init_repeat():
    first = nn.Linear(5, 4, generator=np.random.default_rng(3))
    second = nn.Linear(5, 4, generator=np.random.default_rng(3))
    assert_array_equal(first.weight.data, second.weight.data)
    assert_array_equal(first.bias.data, second.bias.data)


def test_linear_forward_is_x_times_weight_transposed_plus_bias(rng):
    layer = nn.Linear(4, 3, dtype=np.float64)
    x = rng.standard_normal((5, 4))
    assert_allclose(layer(x), x @ layer.weight.data.T + layer.bias.data, rtol=1e-12)


def test_linear_without_bias_has_only_a_weight(rng):
    layer = nn.Linear(4, 3, bias=False, dtype=np.float64)
    assert layer.bias is None
    assert [name for name, _ in layer.named_parameters()] == ["weight"]
    x = rng.standard_normal((5, 4))
    assert_allclose(layer(x), x @ layer.weight.data.T, rtol=1e-12)


def test_linear_grad_matches_finite_difference(rng):
    check_gradients(nn.Linear(4, 3, dtype=np.float64), rng.standard_normal((5, 4)))


def test_linear_without_bias_grad_matches_finite_difference(rng):
    check_gradients(nn.Linear(4, 3, bias=False, dtype=np.float64), rng.standard_normal((5, 4)))


def test_linear_3d_input_grad_matches_finite_difference(rng):
    check_gradients(nn.Linear(4, 3, dtype=np.float64), rng.standard_normal((2, 3, 4)))


def test_linear_1d_input_grad_matches_finite_difference(rng):
    check_gradients(nn.Linear(4, 3).double(), rng.standard_normal(4))


@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(5, 4), (2, 3, 4), (4,)], ids=["2d", "3d", "1d"])
def test_linear_forward_and_backward_match_torch(torch, rng, bias, shape):
    layer = nn.Linear(4, 3, bias=bias)
    reference = torch_module(layer, torch)
    x = rng.standard_normal(shape).astype(np.float32)
    upstream = rng.standard_normal(shape[:-1] + (3,)).astype(np.float32)

    y = layer(x)
    input_grad = layer.backward(upstream)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = reference(x_t)
    y_t.backward(torch.from_numpy(upstream))

    assert y.dtype == input_grad.dtype == np.float32
    assert_allclose(y, y_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(input_grad, x_t.grad.numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), rtol=RTOL, atol=ATOL)
    if bias:
        assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_linear_input_grad_false_returns_none_and_the_same_weight_grads(rng):
    layer = nn.Linear(4, 3)
    x = rng.standard_normal((5, 4)).astype(np.float32)
    upstream = rng.standard_normal((5, 3)).astype(np.float32)
    layer(x)
    layer.backward(upstream)
    weight_grad, bias_grad = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.zero_grad()
    layer(x)
    assert layer.backward(upstream, input_grad=False) is None
    assert_array_equal(layer.weight.grad, weight_grad)
    assert_array_equal(layer.bias.grad, bias_grad)


def test_linear_casts_float64_input_to_float32():
    layer = nn.Linear(2, 2)
    assert layer(np.ones((3, 2), np.float64)).dtype == np.float32
    assert layer(np.ones((3, 2), np.int64)).dtype == np.float32


def test_linear_wrong_input_width_names_the_layer_and_the_shapes():
    layer = nn.Linear(4, 8)
    with pytest.raises(ValueError) as info:
        layer(np.zeros((32, 3)))
    message = str(info.value)
    assert "Linear(in_features=4, out_features=8" in message
    assert "4 features" in message and "(32, 3)" in message


def test_linear_scalar_input_is_rejected():
    with pytest.raises(ValueError, match="got shape"):
        nn.Linear(1, 1)(np.float32(1.0))


@pytest.mark.parametrize("sizes", [(0, 3), (3, 0), (-1, 2)])
def test_linear_rejects_non_positive_sizes(sizes):
    with pytest.raises(ValueError, match="positive sizes"):
        nn.Linear(*sizes)


def test_linear_backward_before_forward_is_a_runtime_error():
    with pytest.raises(RuntimeError, match="forward"):
        nn.Linear(2, 2).backward(np.zeros((1, 2)))


def test_linear_backward_checks_the_gradient_shape():
    layer = nn.Linear(2, 3)
    layer(np.zeros((4, 2)))
    with pytest.raises(ValueError, match=r"\(4, 3\).*\(4, 2\)"):
        layer.backward(np.zeros((4, 2)))


# --- Flatten ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start_dim", "end_dim", "expected"),
    [(1, -1, (2, 60)), (0, -1, (120,)), (1, 2, (2, 12, 5)), (-2, -1, (2, 3, 20))],
)
def test_flatten_output_shape_matches_torch(torch, start_dim, end_dim, expected):
    x = np.arange(120, dtype=np.float32).reshape(2, 3, 4, 5)
    y = nn.Flatten(start_dim, end_dim)(x)
    assert y.shape == expected
    assert_array_equal(y, torch.nn.Flatten(start_dim, end_dim)(torch.from_numpy(x)).numpy())


def test_flatten_grad_matches_finite_difference(rng):
    check_gradients(nn.Flatten(), rng.standard_normal((2, 3, 4)))


def test_flatten_backward_matches_torch(torch, rng):
    layer = nn.Flatten()
    x = rng.standard_normal((2, 3, 4)).astype(np.float32)
    upstream = rng.standard_normal((2, 12)).astype(np.float32)
    layer(x)
    x_t = torch.tensor(x, requires_grad=True)
    torch_module(layer, torch)(x_t).backward(torch.from_numpy(upstream))
    assert_array_equal(layer.backward(upstream), x_t.grad.numpy())


@pytest.mark.parametrize(
    "shape, dims",
    [((3,), (1, -1)), ((2, 3, 4), (2, 1)), ((), (1, -1)), ((2, 3), (0, 5))],
    ids=["1-d input, start_dim 1", "start after end", "0-d input", "end_dim out of range"],
)
def test_flatten_refuses_what_torch_refuses(torch, shape, dims):
    with pytest.raises(Exception) as theirs:
        torch.nn.Flatten(*dims)(torch.zeros(shape))
    with pytest.raises((IndexError, ValueError)) as ours:
        nn.Flatten(*dims)(np.zeros(shape))
    assert "Flatten" in str(ours.value)
    if isinstance(theirs.value, IndexError):
        assert isinstance(ours.value, IndexError)


def test_flatten_of_a_0d_input_over_all_dims_is_one_element_like_torch(torch):
    assert nn.Flatten(0, -1)(np.float32(3)).shape == tuple(
        torch.nn.Flatten(0, -1)(torch.tensor(3.0)).shape
    )


def test_a_frozen_linear_layer_computes_no_parameter_gradient(rng):
    layer = nn.Linear(3, 2).requires_grad_(False)
    layer(rng.standard_normal((4, 3)))
    assert layer.backward(np.ones((4, 2), np.float32)).shape == (4, 3)
    assert layer.weight.grad is None and layer.bias.grad is None
