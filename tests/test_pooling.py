"""MaxPool2d and AvgPool2d: PyTorch parity (ties included), finite differences, errors."""

import numpy as np
import pytest
from helpers import check_gradients
from numpy.testing import assert_allclose, assert_array_equal

from bpnet import nn
from bpnet.errors import GraphError

# (kernel_size, stride, padding): side by side, overlapping, padded, non-square, odd leftovers
WINDOWS = {
    "2": (2, None, 0),
    "3 stride 2 pad 1": (3, 2, 1),
    "(3,2) stride (1,2) pad 1": ((3, 2), (1, 2), 1),
    "2 stride 1": (2, 1, 0),
    "3 (leftover rows)": (3, None, 0),
}
LAYERS = {"max": (nn.MaxPool2d, "MaxPool2d"), "avg": (nn.AvgPool2d, "AvgPool2d")}


def run_both(torch, kind, window, x, upstream_seed=0):
    """(y, dL/dx) from bpnet and from torch for L = sum(upstream * y)."""
    layer_class, torch_name = LAYERS[kind]
    layer = layer_class(*window)
    reference = getattr(torch.nn, torch_name)(*window)
    y = layer(x)
    upstream = np.random.default_rng(upstream_seed).standard_normal(y.shape).astype(x.dtype)
    input_grad = layer.backward(upstream)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = reference(x_t)
    y_t.backward(torch.from_numpy(upstream))
    return (y, input_grad), (y_t.detach().numpy(), x_t.grad.numpy())


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("name", list(WINDOWS))
def test_pool_forward_and_backward_match_torch(torch, rng, kind, name):
    x = rng.standard_normal((2, 3, 9, 8))
    (y, input_grad), (y_t, input_grad_t) = run_both(torch, kind, WINDOWS[name], x)
    assert y.shape == y_t.shape
    assert_allclose(y, y_t, rtol=1e-12, atol=1e-15)
    assert_allclose(input_grad, input_grad_t, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kind", list(LAYERS))
@pytest.mark.parametrize("name", list(WINDOWS))
def test_pool_grad_matches_finite_difference(rng, kind, name):
    # distinct values spaced far apart: a step of 1e-6 never changes which one is the maximum
    x = rng.permutation(2 * 2 * 7 * 8).reshape(2, 2, 7, 8) * 0.01
    check_gradients(LAYERS[kind][0](*WINDOWS[name]), x)


@pytest.mark.parametrize("name", list(WINDOWS))
def test_maxpool_ties_go_to_the_first_maximum_like_torch(torch, rng, name):
    # values from {0, 1, 2}: most windows hold their maximum two or more times
    x = rng.integers(0, 3, (2, 3, 9, 8)).astype(np.float64)
    (y, input_grad), (y_t, input_grad_t) = run_both(torch, "max", WINDOWS[name], x)
    assert_array_equal(y, y_t)
    # overlapping windows add in a different order: equal up to rounding, while a gradient
    # sent to the wrong one of the tied inputs would be off by a whole upstream value
    assert_allclose(input_grad, input_grad_t, rtol=1e-12, atol=1e-15)


def test_maxpool_tie_gradient_goes_to_the_top_left():
    layer = nn.MaxPool2d(2)
    layer(np.zeros((1, 1, 2, 2)))  # a block of zeros, as ReLU leaves many
    assert_array_equal(layer.backward(np.ones((1, 1, 1, 1)))[0, 0], [[1, 0], [0, 0]])


def test_maxpool_padding_is_never_the_maximum(torch, rng):
    x = -1 - rng.random((1, 2, 5, 5))  # all negative: zero padding would win
    (y, input_grad), (y_t, input_grad_t) = run_both(torch, "max", (3, 2, 1), x)
    assert (y < -1).all()
    assert_array_equal(y, y_t)
    assert_array_equal(input_grad, input_grad_t)


def test_avgpool_counts_padding_as_zeros_like_torch(torch):
    x = np.ones((1, 1, 3, 3))
    (y, _), (y_t, _) = run_both(torch, "avg", (2, 2, 1), x)
    assert_array_equal(y[0, 0], [[0.25, 0.5], [0.5, 1.0]])
    assert_array_equal(y, y_t)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_pool_unbatched_input_matches_torch(torch, rng, kind):
    x = rng.standard_normal((3, 7, 6))
    (y, input_grad), (y_t, input_grad_t) = run_both(torch, kind, (3, 2, 1), x)
    assert y.shape == (3, 4, 3)
    assert_allclose(y, y_t, rtol=1e-12)
    assert_allclose(input_grad, input_grad_t, rtol=1e-12)


def test_pool_stride_defaults_to_the_kernel_size():
    assert nn.MaxPool2d(3).stride == (3, 3)
    assert nn.AvgPool2d((2, 3)).stride == (2, 3)
    assert nn.MaxPool2d(2)(np.zeros((1, 1, 5, 7))).shape == (1, 1, 2, 3)


def test_pool_keeps_float32_and_casts_integers():
    assert nn.MaxPool2d(2)(np.zeros((1, 1, 4, 4), np.float32)).dtype == np.float32
    assert nn.AvgPool2d(2)(np.ones((1, 1, 4, 4), np.int64)).dtype == np.float32


@pytest.mark.parametrize("kind", list(LAYERS))
def test_pool_padding_over_half_the_kernel_is_rejected(kind):
    with pytest.raises(ValueError, match=r"padding must be at most half the kernel size"):
        LAYERS[kind][0](2, padding=2)


@pytest.mark.parametrize("kind", list(LAYERS))
def test_pool_wrong_input_shape_names_the_layer_and_the_shape(kind):
    with pytest.raises(ValueError, match=rf"{LAYERS[kind][1]}\(kernel_size=.*\(4, 4\)"):
        LAYERS[kind][0](2)(np.zeros((4, 4)))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        LAYERS[kind][0](3)(np.zeros((1, 1, 2, 5)))


def test_pool_backward_checks_the_gradient_shape():
    layer = nn.MaxPool2d(2)
    layer(np.zeros((2, 3, 4, 4)))
    with pytest.raises(ValueError, match=r"\(2, 3, 2, 2\).*\(2, 3, 4, 4\)"):
        layer.backward(np.zeros((2, 3, 4, 4)))


@pytest.mark.parametrize("kind", list(LAYERS))
def test_pool_backward_with_input_grad_false_returns_none(kind):
    layer = LAYERS[kind][0](2)
    layer(np.zeros((1, 1, 4, 4)))
    assert layer.backward(np.ones((1, 1, 2, 2)), input_grad=False) is None


@pytest.mark.parametrize("kind", list(LAYERS))
def test_pool_backward_before_forward_is_a_graph_error(kind):
    with pytest.raises(GraphError, match="forward"):
        LAYERS[kind][0](2).backward(np.ones((1, 1, 2, 2)))
