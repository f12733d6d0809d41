"""SGD: steps worked by hand, 20 steps against torch.optim.SGD, argument checks, state."""

import numpy as np
import pytest
from helpers import run_against_torch
from numpy.testing import assert_allclose, assert_array_equal

from bpnet import nn, optim


def parameter(values, grad) -> nn.Parameter:
    p = nn.Parameter(np.array(values, np.float64))
    p.grad = np.array(grad, np.float64)
    return p


def test_plain_sgd_step_is_p_minus_lr_times_grad():
    p = parameter([1.0, -2.0], [0.5, 4.0])
    optim.SGD([p], lr=0.1).step()
    assert_allclose(p.data, [1.0 - 0.05, -2.0 - 0.4])


def test_sgd_momentum_first_step_copies_grad_into_buffer_then_accumulates():
    p = parameter([1.0, -2.0], [0.5, 4.0])
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    optimizer.step()
    # step 1: buf = g = [0.5, 4]; p = p - lr * buf
    assert_allclose(optimizer.state[p]["momentum_buffer"], [0.5, 4.0])
    assert_allclose(p.data, [0.95, -2.4])
    assert not np.shares_memory(optimizer.state[p]["momentum_buffer"], p.grad)
    p.grad = np.array([1.0, -1.0], np.float64)
    optimizer.step()
    # step 2: buf = 0.9 * [0.5, 4] + [1, -1] = [1.45, 2.6]; p = p - 0.1 * buf
    assert_allclose(optimizer.state[p]["momentum_buffer"], [1.45, 2.6])
    assert_allclose(p.data, [0.95 - 0.145, -2.4 - 0.26])


def test_sgd_dampening_scales_the_new_gradient_after_the_first_step():
    p = parameter([0.0], [2.0])
    optimizer = optim.SGD([p], lr=1.0, momentum=0.5, dampening=0.25)
    optimizer.step()  # buf = g = 2 (no dampening on the first step, as in torch)
    assert_allclose(p.data, [-2.0])
    optimizer.step()  # buf = 0.5 * 2 + 0.75 * 2 = 2.5
    assert_allclose(p.data, [-4.5])


def test_sgd_nesterov_steps_along_grad_plus_momentum_times_buffer():
    p = parameter([0.0], [2.0])
    optimizer = optim.SGD([p], lr=1.0, momentum=0.5, nesterov=True)
    optimizer.step()  # buf = 2; step = g + 0.5 buf = 3
    assert_allclose(p.data, [-3.0])
    optimizer.step()  # buf = 0.5 * 2 + 2 = 3; step = 2 + 1.5 = 3.5
    assert_allclose(p.data, [-6.5])


def test_sgd_weight_decay_adds_decay_times_weight_to_the_gradient():
    p = parameter([2.0], [0.0])
    optim.SGD([p], lr=0.1, weight_decay=0.5).step()
    assert_allclose(p.data, [2.0 - 0.1 * 0.5 * 2.0])
    assert_array_equal(p.grad, [0.0])  # the gradient itself is left alone


SGD_CONFIGS = {
    "plain": dict(lr=0.1),
    "momentum": dict(lr=0.05, momentum=0.9),
    "dampening": dict(lr=0.05, momentum=0.9, dampening=0.3),
    "nesterov": dict(lr=0.05, momentum=0.8, nesterov=True),
    "weight_decay": dict(lr=0.1, weight_decay=0.01),
    "all": dict(lr=0.05, momentum=0.9, weight_decay=0.05, nesterov=True),
}


@pytest.mark.parametrize("config", SGD_CONFIGS.values(), ids=SGD_CONFIGS.keys())
def test_sgd_matches_torch_for_20_steps(torch, config):
    run_against_torch(
        torch,
        lambda params: optim.SGD(params, **config),
        lambda params: torch.optim.SGD(params, **config),
    )


def test_sgd_matches_torch_with_mse_loss(torch):
    config = dict(lr=0.05, momentum=0.9)
    run_against_torch(
        torch,
        lambda params: optim.SGD(params, **config),
        lambda params: torch.optim.SGD(params, **config),
        loss="mse",
    )


def test_sgd_learning_rate_changed_between_steps_matches_torch(torch):
    run_against_torch(
        torch,
        lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
        lambda params: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        lr_at_step={5: 0.01, 12: 0.2, 15: 0.0},
    )


def test_sgd_learning_rate_set_in_param_groups_applies_at_the_next_step():
    p = parameter([1.0], [1.0])
    optimizer = optim.SGD([p], lr=0.1)
    optimizer.param_groups[0]["lr"] = 0.5
    optimizer.step()
    assert_allclose(p.data, [0.5])


def test_sgd_param_groups_keep_their_own_hyperparameters():
    a, b = parameter([1.0], [1.0]), parameter([1.0], [1.0])
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
    optimizer.step()
    assert_allclose(a.data, [0.9])
    assert_allclose(b.data, [0.5])
    assert optimizer.param_groups[0]["momentum"] == 0.0  # defaults fill each group


def test_sgd_default_arguments_match_torch(torch):
    ours = optim.SGD([parameter([1.0], [0.0])]).defaults
    theirs = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert {k: theirs[k] for k in ours} == ours


def test_optimizer_zero_grad_sets_gradients_to_none_or_zero_like_torch():
    p = parameter([1.0, 2.0], [3.0, 4.0])
    optim.SGD([p], lr=0.1).zero_grad()
    assert p.grad is None  # PyTorch 2's default, set_to_none=True
    p = parameter([1.0, 2.0], [3.0, 4.0])
    optim.SGD([p], lr=0.1).zero_grad(set_to_none=False)
    assert_array_equal(p.grad, [0.0, 0.0])


@pytest.mark.parametrize("lr", [-0.1, float("nan"), float("inf")])
def test_invalid_learning_rate_is_a_value_error(lr):
    with pytest.raises(ValueError, match=f"Invalid learning rate: {lr}"):
        optim.SGD([parameter([1.0], [0.0])], lr=lr)


def test_numpy_scalar_learning_rate_is_accepted_like_a_float():
    p = parameter([1.0], [1.0])
    optim.SGD([p], lr=np.float32(0.5)).step()
    assert_allclose(p.data, [0.5])


def test_empty_parameter_list_is_a_value_error():
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD([], lr=0.1)
    with pytest.raises(ValueError, match="empty parameter list"):
        optim.SGD(nn.Sequential(nn.ReLU()).parameters(), lr=0.1)


def test_non_parameters_are_a_type_error_that_suggests_model_parameters():
    with pytest.raises(TypeError, match=r"model\.parameters\(\)"):
        optim.SGD([np.zeros(3)], lr=0.1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(momentum=-0.1), "Invalid momentum value"),
        (dict(weight_decay=-1.0), "Invalid weight_decay value"),
        (dict(nesterov=True), "Nesterov momentum requires a momentum and zero dampening"),
        (dict(nesterov=True, momentum=0.9, dampening=0.1), "Nesterov momentum requires"),
    ],
)
def test_sgd_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.SGD([parameter([1.0], [0.0])], lr=0.1, **kwargs)


def test_optimizer_state_dict_round_trip_continues_the_same_run():
    def grads_for(step):
        return np.array([np.sin(step), np.cos(step)])

    p = parameter([1.0, 2.0], [0.0, 0.0])
    optimizer = optim.SGD([p], lr=0.1, momentum=0.9)
    for step in range(3):
        p.grad = np.array(grads_for(step), np.float64)
        optimizer.step()
    saved_state, saved_data = optimizer.state_dict(), p.data.copy()
    assert saved_state["param_groups"][0]["params"] == [0]
    assert set(saved_state["state"]) == {0}
    for step in range(3, 6):
        p.grad = np.array(grads_for(step), np.float64)
        optimizer.step()

    q = parameter(saved_data, [0.0, 0.0])
    resumed = optim.SGD([q], lr=0.5, momentum=0.0)  # hyperparameters come from the state
    resumed.load_state_dict(saved_state)
    for step in range(3, 6):
        q.grad[...] = grads_for(step)
        resumed.step()
    assert_allclose(q.data, p.data, rtol=1e-12)


def test_a_parameter_in_two_groups_is_a_value_error_like_torch():
    model = nn.Sequential(nn.Linear(2, 2), nn.Linear(2, 1))
    groups = [{"params": model.parameters()}, {"params": model[0].parameters(), "lr": 1.0}]
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        optim.SGD(groups, lr=0.1)
