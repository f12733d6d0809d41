"""MSELoss and CrossEntropyLoss: values, finite-difference gradients, PyTorch parity, errors."""

import numpy as np
import pytest
from helpers import check_loss_gradients
from numpy.testing import assert_allclose

from bpnet import nn

RTOL, ATOL = 1e-5, 1e-6


def upstream_for(reduction, shape, rng):
    """A non-trivial dL/d(loss): a scalar for "mean"/"sum", an array for "none"."""
    return rng.standard_normal(shape) if reduction == "none" else 2.5


# --- MSELoss ---------------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_grad_matches_finite_difference(rng, reduction):
    criterion = nn.MSELoss(reduction=reduction)
    x, y = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    check_loss_gradients(criterion, x, y, upstream_for(reduction, (4, 3), rng))
    if reduction != "none":
        check_loss_gradients(criterion, x, y)  # default upstream 1


def test_mse_value_is_the_mean_of_squared_differences():
    value = nn.MSELoss()(np.array([1.0, 2.0, 4.0]), np.array([1.0, 0.0, 1.0]))
    assert isinstance(value, float)
    assert value == pytest.approx((0 + 4 + 9) / 3)
    assert nn.MSELoss(reduction="sum")(np.array([3.0]), np.array([1.0])) == 4.0


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_mse_forward_and_backward_match_torch(torch, rng, reduction):
    x = rng.standard_normal((5, 3)).astype(np.float32)
    y = rng.standard_normal((5, 3)).astype(np.float32)
    upstream = np.asarray(upstream_for(reduction, (5, 3), rng), np.float32)
    criterion = nn.MSELoss(reduction=reduction)
    value = criterion(x, y)
    grad = criterion.backward(upstream)

    x_t = torch.tensor(x, requires_grad=True)
    value_t = torch.nn.MSELoss(reduction=reduction)(x_t, torch.from_numpy(y))
    value_t.backward(torch.from_numpy(upstream))
    assert np.shape(value) == tuple(value_t.shape)
    assert_allclose(value, value_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert grad.dtype == np.float32
    assert_allclose(grad, x_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_mse_gradient_keeps_the_input_dtype_with_a_float64_target():
    criterion = nn.MSELoss()
    criterion(np.ones(3, np.float32), np.zeros(3, np.float64))
    assert criterion.backward().dtype == np.float32


def test_mse_shape_mismatch_is_a_value_error_with_both_shapes():
    with pytest.raises(ValueError, match=r"same shape, got \(4, 1\) and \(4,\)"):
        nn.MSELoss()(np.zeros((4, 1)), np.zeros(4))


def test_unknown_reduction_is_rejected():
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.MSELoss(reduction="avg")
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CrossEntropyLoss(reduction="batchmean")


# --- CrossEntropyLoss ------------------------------------------------------------------


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_crossentropy_grad_matches_finite_difference(rng, reduction):
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    logits, target = rng.standard_normal((5, 4)), rng.integers(0, 4, 5)
    check_loss_gradients(criterion, logits, target, upstream_for(reduction, (5,), rng))
    if reduction != "none":
        check_loss_gradients(criterion, logits, target)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_crossentropy_1d_input_grad_matches_finite_difference(rng, reduction):
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    upstream = np.float64(-1.5) if reduction == "none" else 2.5
    check_loss_gradients(criterion, rng.standard_normal(4), np.int64(2), upstream)


def test_crossentropy_value_is_minus_log_softmax_of_the_target():
    logits = np.array([[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]])
    expected = [np.log(np.exp(logits[0]).sum()) - 1.0, np.log(3.0)]
    value = nn.CrossEntropyLoss()(logits, np.array([0, 2]))
    assert isinstance(value, float)
    assert value == pytest.approx(np.mean(expected))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_crossentropy_forward_and_backward_match_torch(torch, rng, reduction):
    logits = (3 * rng.standard_normal((6, 4))).astype(np.float32)
    target = rng.integers(0, 4, 6)
    upstream = np.asarray(upstream_for(reduction, (6,), rng), np.float32)
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    value = criterion(logits, target)
    grad = criterion.backward(upstream)

    logits_t = torch.tensor(logits, requires_grad=True)
    value_t = torch.nn.CrossEntropyLoss(reduction=reduction)(logits_t, torch.from_numpy(target))
    value_t.backward(torch.from_numpy(upstream))
    assert np.shape(value) == tuple(value_t.shape)
    assert_allclose(value, value_t.detach().numpy(), rtol=RTOL, atol=ATOL)
    assert grad.dtype == np.float32
    assert_allclose(grad, logits_t.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_crossentropy_1d_input_matches_torch(torch, rng, reduction):
    logits = rng.standard_normal(5).astype(np.float32)
    criterion = nn.CrossEntropyLoss(reduction=reduction)
    value = criterion(logits, np.int64(3))
    grad = criterion.backward(np.float32(0.5))

    logits_t = torch.tensor(logits, requires_grad=True)
    value_t = torch.nn.CrossEntropyLoss(reduction=reduction)(logits_t, torch.tensor(3))
    value_t.backward(torch.tensor(0.5))
    assert np.shape(value) == tuple(value_t.shape) == ()
    assert_allclose(value, value_t.item(), rtol=RTOL, atol=ATOL)
    assert grad.shape == (5,)
    assert_allclose(grad, logits_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_crossentropy_is_stable_for_huge_logits_like_torch(torch):
    logits = np.array([[1e4, 0.0, -1e4], [-1e4, -1e4, 1e4]], np.float32)
    target = np.array([1, 2])
    criterion = nn.CrossEntropyLoss()
    value = criterion(logits, target)  # overflow warnings would fail the test
    grad = criterion.backward()
    logits_t = torch.tensor(logits, requires_grad=True)
    value_t = torch.nn.functional.cross_entropy(logits_t, torch.from_numpy(target))
    value_t.backward()
    assert np.isfinite(value)
    assert_allclose(value, value_t.item(), rtol=RTOL)
    assert_allclose(grad, logits_t.grad.numpy(), rtol=RTOL, atol=ATOL)


def test_crossentropy_float_targets_are_a_type_error():
    with pytest.raises(TypeError, match=r"integer class indices.*float64"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0.0, 1.0]))


@pytest.mark.parametrize("bad", [3, -1])
def test_crossentropy_target_out_of_range_is_a_value_error(bad):
    with pytest.raises(ValueError, match=rf"target {bad} is out of range; classes are 0\.\.2"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, bad]))


def test_crossentropy_target_shape_and_logit_rank_are_checked():
    with pytest.raises(ValueError, match=r"targets of shape \(2,\)"):
        nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1, 2]))
    with pytest.raises(ValueError, match=r"logits of shape \(N, C\)"):
        nn.CrossEntropyLoss()(np.zeros((2, 3, 4)), np.zeros((2,), np.int64))


def test_mse_refuses_integer_predictions_instead_of_truncating_the_gradient():
    # the gradient of [0 1 2] against 0 would be [0 .67 1.33] truncated to integers
    with pytest.raises(TypeError, match=r"floating-point predictions.*int64.*astype"):
        nn.MSELoss()(np.array([0, 1, 2]), np.zeros(3))
    criterion = nn.MSELoss()
    criterion(np.array([0.0, 1.0, 2.0]), np.zeros(3, np.int64))  # integer targets are cast
    assert_allclose(criterion.backward(), [0, 2 / 3, 4 / 3])


@pytest.mark.parametrize("criterion, x, y", [
    (nn.CrossEntropyLoss(), np.zeros((0, 3)), np.zeros(0, np.int64)),
    (nn.MSELoss(), np.zeros((0, 2)), np.zeros((0, 2))),
])  # fmt: skip
def test_an_empty_batch_with_reduction_mean_is_a_clear_error(criterion, x, y):
    with pytest.raises(ValueError, match=r"empty batch.*\(0, .*reduction='sum'"):
        criterion(x, y)


def test_an_empty_batch_with_reduction_sum_is_zero_like_torch():
    criterion = nn.CrossEntropyLoss(reduction="sum")
    assert criterion(np.zeros((0, 3)), np.zeros(0, np.int64)) == 0.0
    assert criterion.backward().shape == (0, 3)


def test_crossentropy_ignored_targets_may_be_out_of_range():
    criterion = nn.CrossEntropyLoss()
    value = criterion(np.array([[0.0, 1.0], [5.0, -5.0]]), np.array([1, -100]))
    assert value == pytest.approx(-np.log(np.exp(1) / (1 + np.exp(1))))
    assert_allclose(criterion.backward()[1], [0.0, 0.0])
