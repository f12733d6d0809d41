"""RMSprop: steps worked by hand, 20 steps against torch.optim.RMSprop, argument checks."""

import numpy as np
import pytest
from helpers import run_against_torch
from numpy.testing import assert_allclose

from bpnet import nn, optim


def parameter(values, grad) -> nn.Parameter:
    p = nn.Parameter(np.array(values, np.float64))
    p.grad = np.array(grad, np.float64)
    return p


def test_rmsprop_first_step_divides_by_the_root_mean_square():
    # v = (1 - alpha) g²; p = p - lr g / (sqrt(v) + eps)
    p = parameter([1.0, 1.0], [2.0, -0.5])
    optim.RMSprop([p], lr=0.01, alpha=0.75, eps=0.0).step()
    g = np.array([2.0, -0.5])
    assert_allclose(p.data, 1.0 - 0.01 * g / np.sqrt(0.25 * g**2))
    # = 1 -/+ 0.02: the step is lr / sqrt(1 - alpha) whatever the gradient's size
    assert_allclose(p.data, [0.98, 1.02])


def test_rmsprop_second_step_worked_by_hand():
    p = parameter([0.0], [2.0])
    optimizer = optim.RMSprop([p], lr=0.1, alpha=0.5, eps=0.0)
    optimizer.step()  # v = 0.5 * 4 = 2; p = -0.1 * 2 / sqrt(2)
    p.grad = np.array([1.0], np.float64)
    optimizer.step()  # v = 0.5 * 2 + 0.5 * 1 = 1.5; p -= 0.1 * 1 / sqrt(1.5)
    assert_allclose(optimizer.state[p]["square_avg"], [1.5])
    assert_allclose(p.data, [-0.2 / np.sqrt(2) - 0.1 / np.sqrt(1.5)])


def test_rmsprop_momentum_accumulates_the_scaled_gradient():
    p = parameter([0.0], [2.0])
    optimizer = optim.RMSprop([p], lr=0.1, alpha=0.5, eps=0.0, momentum=0.9)
    optimizer.step()  # buf = 2 / sqrt(2) = sqrt(2)
    assert_allclose(optimizer.state[p]["momentum_buffer"], [np.sqrt(2)])
    p.grad = np.array([1.0], np.float64)
    optimizer.step()  # buf = 0.9 sqrt(2) + 1 / sqrt(1.5)
    buffer = 0.9 * np.sqrt(2) + 1 / np.sqrt(1.5)
    assert_allclose(optimizer.state[p]["momentum_buffer"], [buffer])
    assert_allclose(p.data, [-0.1 * np.sqrt(2) - 0.1 * buffer])


def test_rmsprop_centered_subtracts_the_squared_mean_gradient():
    # v = (1-a) g², mean = (1-a) g, so the denominator is |g| sqrt((1-a) a)
    p = parameter([0.0], [3.0])
    optimizer = optim.RMSprop([p], lr=0.1, alpha=0.75, eps=0.0, centered=True)
    optimizer.step()
    assert_allclose(optimizer.state[p]["grad_avg"], [0.75])
    assert_allclose(p.data, [-0.1 * 3.0 / (3.0 * np.sqrt(0.25 * 0.75))])


def test_rmsprop_weight_decay_is_added_to_the_gradient():
    p = parameter([2.0], [0.0])
    optim.RMSprop([p], lr=0.01, alpha=0.75, eps=0.0, weight_decay=0.5).step()
    # g = 0.5 * 2 = 1, so the step is lr / sqrt(1 - alpha) = 0.02
    assert_allclose(p.data, [1.98])


RMSPROP_CONFIGS = {
    "plain": dict(lr=0.01),
    "momentum": dict(lr=0.005, momentum=0.9),
    "centered": dict(lr=0.01, centered=True),
    "weight_decay": dict(lr=0.01, weight_decay=0.1),
    "everything": dict(
        lr=0.005, alpha=0.9, eps=1e-6, momentum=0.5, centered=True, weight_decay=0.1
    ),
}


@pytest.mark.parametrize("config", RMSPROP_CONFIGS.values(), ids=RMSPROP_CONFIGS.keys())
def test_rmsprop_matches_torch_for_20_steps(torch, config):
    run_against_torch(
        torch,
        lambda params: optim.RMSprop(params, **config),
        lambda params: torch.optim.RMSprop(params, **config),
    )


def test_rmsprop_learning_rate_changed_between_steps_matches_torch(torch):
    run_against_torch(
        torch,
        lambda params: optim.RMSprop(params, lr=0.01, momentum=0.5),
        lambda params: torch.optim.RMSprop(params, lr=0.01, momentum=0.5),
        lr_at_step={3: 0.001, 9: 0.02},
        loss="mse",
    )


def test_rmsprop_default_arguments_match_torch(torch):
    ours = optim.RMSprop([parameter([1.0], [0.0])]).defaults
    theirs = torch.optim.RMSprop([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert {k: theirs[k] for k in ours} == ours


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lr=-0.01), "Invalid learning rate"),
        (dict(alpha=-0.5), "Invalid alpha value"),
        (dict(eps=-1e-8), "Invalid epsilon value"),
        (dict(momentum=-0.9), "Invalid momentum value"),
        (dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ],
)
def test_rmsprop_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.RMSprop([parameter([1.0], [0.0])], **kwargs)
