"""Activations, Softmax and Dropout: finite-difference gradients and PyTorch parity."""

import numpy as np
import pytest
from helpers import check_gradients, torch_module
from numpy.testing import assert_allclose, assert_array_equal

import bpnet
from bpnet import nn

RTOL, ATOL = 1e-5, 1e-6


def away_from_zero(rng, shape, margin=0.1):
    """Random values with |x| >= margin, so ReLU's kink at 0 is never straddled."""
    x = rng.standard_normal(shape)
    return np.where(x >= 0, x + margin, x - margin)


ELEMENTWISE = {
    "relu": nn.ReLU,
    "leaky_relu": lambda: nn.LeakyReLU(0.1),
    "sigmoid": nn.Sigmoid,
    "tanh": nn.Tanh,
    "softmax_last": lambda: nn.Softmax(dim=-1),
    "softmax_first": lambda: nn.Softmax(dim=0),
}


@pytest.mark.parametrize("make", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_activation_grad_matches_finite_difference(rng, make):
    check_gradients(make(), away_from_zero(rng, (3, 4)))


@pytest.mark.parametrize("make", ELEMENTWISE.values(), ids=ELEMENTWISE.keys())
def test_activation_forward_and_backward_match_torch(torch, rng, make):
    module = make()
    x = away_from_zero(rng, (4, 5)).astype(np.float32) * 3
    upstream = rng.standard_normal((4, 5)).astype(np.float32)
    y = module(x)
    input_grad = module.backward(upstream)

    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch_module(module, torch)(x_t)
    y_t.backward(torch.from_numpy(upstream))
    assert y.dtype == input_grad.dtype == np.float32
    assert_allclose(y, y_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(input_grad, x_t.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("make", [nn.ReLU, nn.LeakyReLU], ids=["relu", "leaky_relu"])
def test_gradient_at_exactly_zero_matches_torch(torch, make):
    x = np.array([-1.0, 0.0, 2.0], np.float32)
    module = make()
    module(x)
    x_t = torch.tensor(x, requires_grad=True)
    torch_module(module, torch)(x_t).backward(torch.ones(3))
    assert_array_equal(module.backward(np.ones(3, np.float32)), x_t.grad.numpy())


@pytest.mark.parametrize("make", [nn.Sigmoid, nn.Tanh, nn.Softmax], ids=["sigmoid", "tanh", "sm"])
def test_saturating_functions_are_finite_for_huge_inputs_like_torch(torch, make):
    x = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], np.float32)
    module = make()
    y = module(x)  # RuntimeWarnings (overflow) are errors in this test suite
    upstream = np.ones_like(x)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch_module(module, torch)(x_t)
    y_t.backward(torch.from_numpy(upstream))
    assert np.isfinite(y).all()
    assert_allclose(y, y_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(module.backward(upstream), x_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_softmax_rows_sum_to_one_along_dim(rng):
    x = rng.standard_normal((3, 4))
    assert_allclose(nn.Softmax(dim=-1)(x).sum(axis=1), np.ones(3))
    assert_allclose(nn.Softmax(dim=0)(x).sum(axis=0), np.ones(4))


def test_leaky_relu_keeps_negative_slope():
    assert_allclose(nn.LeakyReLU(0.2)(np.array([-2.0, 3.0])), [-0.4, 3.0])
    assert repr(nn.LeakyReLU(0.2)) == "LeakyReLU(negative_slope=0.2)"


# --- Dropout ---------------------------------------------------------------------------


def test_dropout_grad_matches_finite_difference_with_a_fixed_mask(rng):
    module = nn.Dropout(0.4)  # draws from bpnet's default generator, reseeded each pass
    check_gradients(
        module, rng.standard_normal((4, 5)), before_forward=lambda: bpnet.manual_seed(3)
    )
    bpnet.manual_seed(3)
    y = module(np.ones((4, 5)))
    assert 0 < np.count_nonzero(y) < 20  # the mask really drops some and keeps some


def test_dropout_in_eval_mode_is_the_identity_with_identity_grad(rng):
    module = nn.Dropout(0.5).eval()
    x = rng.standard_normal((3, 4))
    assert_array_equal(module(x), x)
    check_gradients(module, x)


def test_dropout_with_p0_and_in_eval_mode_match_torch(torch, rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    upstream = rng.standard_normal((4, 5)).astype(np.float32)
    for module in (nn.Dropout(0.0), nn.Dropout(0.7).eval()):
        y = module(x)
        x_t = torch.tensor(x, requires_grad=True)
        y_t = torch_module(module, torch)(x_t)
        y_t.backward(torch.from_numpy(upstream))
        assert_array_equal(y, y_t.detach().numpy())
        assert_array_equal(module.backward(upstream), x_t.grad.numpy())


def test_dropout_backward_matches_torch_with_the_same_mask(torch, rng):
    p = 0.3
    module = nn.Dropout(p, generator=np.random.default_rng(5))
    x = away_from_zero(rng, (6, 7)).astype(np.float32)
    upstream = rng.standard_normal((6, 7)).astype(np.float32)
    y = module(x)
    keep = y != 0  # x has no zeros, so a zero output means a dropped element
    input_grad = module.backward(upstream)

    x_t = torch.tensor(x, requires_grad=True)
    y_t = x_t * torch.from_numpy(keep) / (1 - p)  # torch's dropout, with our mask
    y_t.backward(torch.from_numpy(upstream))
    assert_allclose(y, y_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert_allclose(input_grad, x_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_dropout_keeps_one_minus_p_of_elements_scaled_by_one_over_one_minus_p():
    p = 0.3
    y = nn.Dropout(p, generator=np.random.default_rng(0))(np.ones(200_000, np.float32))
    kept = y[y != 0]
    assert y.dtype == np.float32
    assert_allclose(kept, np.float32(1 / (1 - p)))  # every survivor scaled exactly
    # keep rate 0.7 with standard deviation sqrt(0.21 / 200000) ≈ 0.001
    assert abs(kept.size / y.size - (1 - p)) < 0.005
    assert abs(y.mean() - 1.0) < 0.01  # the expectation is preserved


def test_dropout_draws_a_new_mask_each_call_and_repeats_with_the_same_seed():
    x = np.ones((10, 10))
    module = nn.Dropout(0.5, generator=np.random.default_rng(9))
    first, second = module(x), module(x)
    assert not np.array_equal(first, second)
    assert_array_equal(nn.Dropout(0.5, generator=np.random.default_rng(9))(x), first)


def test_dropout_p1_zeroes_everything_like_torch(torch):
    x = np.ones((3, 3), np.float32)
    module = nn.Dropout(1.0)
    y = module(x)
    assert_array_equal(y, torch.nn.Dropout(1.0)(torch.from_numpy(x)).numpy())
    assert_array_equal(module.backward(np.ones_like(x)), np.zeros_like(x))


@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_dropout_rejects_probabilities_outside_0_1(p):
    with pytest.raises(ValueError, match=f"between 0 and 1, but got {p}"):
        nn.Dropout(p)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_keeps_full_relative_precision_for_very_negative_inputs(torch, dtype):
    x = np.linspace(-80, 80, 4001).astype(dtype)
    module = nn.Sigmoid()
    y = module(x)
    grad = module.backward(np.ones_like(x))
    x_t = torch.tensor(x, requires_grad=True)
    y_t = torch.sigmoid(x_t)
    y_t.backward(torch.ones_like(x_t))
    assert y.dtype == dtype
    assert_allclose(y, y_t.detach().numpy(), rtol=1e-6, atol=0)
    # where y is near 1, y (1 - y) cancels in both libraries alike; below 0 it must not
    assert_allclose(grad[x <= 0], x_t.grad.numpy()[x <= 0], rtol=1e-6, atol=0)
    assert_allclose(grad, x_t.grad.numpy(), rtol=5e-5, atol=0)
    assert module(np.array([-20.0], dtype))[0] > 2e-9  # was exactly 0 in float32


def test_softmax_with_a_dim_out_of_range_names_the_allowed_range():
    with pytest.raises(IndexError, match=r"dim=2.*\(3, 4\).*\[-2, 1\]"):
        nn.Softmax(dim=2)(np.zeros((3, 4)))


def test_activations_skip_their_input_gradient_when_not_asked():
    for module in (nn.ReLU(), nn.Tanh(), nn.Sigmoid(), nn.Softmax(), nn.LeakyReLU(), nn.Dropout()):
        module(np.ones((2, 3)))
        assert module.backward(np.ones((2, 3)), input_grad=False) is None
