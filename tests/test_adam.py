"""Adam and AdamW: steps worked by hand, 20 steps against torch.optim, argument checks."""

import numpy as np
import pytest
from helpers import run_against_torch
from numpy.testing import assert_allclose

from bpnet import nn, optim


def parameter(values, grad, dtype=np.float64) -> nn.Parameter:
    p = nn.Parameter(np.array(values, dtype))
    p.grad = np.array(grad, np.float64)
    return p


def test_adam_first_step_moves_each_weight_by_lr_against_the_gradient_sign():
    # m̂ = g and v̂ = g² after bias correction, so the step is lr * g / (|g| + eps)
    grad = np.array([0.003, -2.0, 50.0, -1e-4], np.float32)
    p = parameter([0.5, 0.5, -0.5, 1.0], grad, dtype=np.float32)
    before = p.data.copy()
    optim.Adam([p], lr=0.01).step()
    assert_allclose(before - p.data, 0.01 * np.sign(grad), rtol=1e-4)


def test_adam_second_step_worked_by_hand():
    p = parameter([0.0], [1.0])
    optimizer = optim.Adam([p], lr=0.1, betas=(0.5, 0.75), eps=0.0)
    optimizer.step()
    assert_allclose(p.data, [-0.1])
    p.grad = np.array([3.0], np.float64)
    optimizer.step()
    # m = 0.5 * 0.5 + 0.5 * 3 = 1.75, v = 0.75 * 0.25 + 0.25 * 9 = 2.4375, t = 2
    m_hat, v_hat = 1.75 / (1 - 0.5**2), 2.4375 / (1 - 0.75**2)
    assert_allclose(p.data, [-0.1 - 0.1 * m_hat / np.sqrt(v_hat)])
    assert optimizer.state[p]["step"] == 2
    assert_allclose(optimizer.state[p]["exp_avg"], [1.75])
    assert_allclose(optimizer.state[p]["exp_avg_sq"], [2.4375])


def test_adam_weight_decay_is_added_to_the_gradient():
    # with a zero gradient the decay term alone sets the direction: a full lr step
    p = parameter([2.0, -3.0], [0.0, 0.0])
    optim.Adam([p], lr=0.1, weight_decay=0.01).step()
    assert_allclose(p.data, [1.9, -2.9], rtol=1e-6)


def test_adamw_decays_the_weights_directly():
    # with a zero gradient AdamW only shrinks the weight: p (1 - lr wd)
    p = parameter([2.0, -3.0], [0.0, 0.0])
    optim.AdamW([p], lr=0.1, weight_decay=0.5).step()
    assert_allclose(p.data, [2.0 * 0.95, -3.0 * 0.95])


def test_adamw_default_weight_decay_is_1e_2_like_torch(torch):
    ours = optim.AdamW([parameter([1.0], [0.0])]).defaults
    theirs = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert {k: theirs[k] for k in ours} == ours
    ours = optim.Adam([parameter([1.0], [0.0])]).defaults
    theirs = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))]).defaults
    assert {k: theirs[k] for k in ours} == ours


ADAM_CONFIGS = {
    "adam": (optim.Adam, "Adam", dict(lr=0.01)),
    "adam_weight_decay": (optim.Adam, "Adam", dict(lr=0.01, weight_decay=0.1)),
    "adam_betas": (optim.Adam, "Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    "adamw": (optim.AdamW, "AdamW", dict(lr=0.01)),
    "adamw_weight_decay": (optim.AdamW, "AdamW", dict(lr=0.01, weight_decay=0.3)),
}


@pytest.mark.parametrize(("ours", "theirs", "config"), ADAM_CONFIGS.values(), ids=ADAM_CONFIGS)
def test_adam_matches_torch_for_20_steps(torch, ours, theirs, config):
    run_against_torch(
        torch,
        lambda params: ours(params, **config),
        lambda params: getattr(torch.optim, theirs)(params, **config),
    )


def test_adam_matches_torch_with_mse_loss(torch):
    run_against_torch(
        torch,
        lambda params: optim.Adam(params, lr=0.01),
        lambda params: torch.optim.Adam(params, lr=0.01),
        loss="mse",
    )


@pytest.mark.parametrize(("ours", "theirs"), [(optim.Adam, "Adam"), (optim.AdamW, "AdamW")])
def test_adam_learning_rate_changed_between_steps_matches_torch(torch, ours, theirs):
    run_against_torch(
        torch,
        lambda params: ours(params, lr=0.01, weight_decay=0.1),
        lambda params: getattr(torch.optim, theirs)(params, lr=0.01, weight_decay=0.1),
        lr_at_step={4: 0.03, 10: 0.001},
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(lr=-1e-3), "Invalid learning rate: -0.001"),
        (dict(eps=-1.0), "Invalid epsilon value"),
        (dict(betas=(1.0, 0.999)), "Invalid beta parameter at index 0"),
        (dict(betas=(0.9, -0.1)), "Invalid beta parameter at index 1"),
        (dict(weight_decay=-0.1), "Invalid weight_decay value"),
    ],
)
def test_adam_rejects_invalid_hyperparameters(kwargs, message):
    with pytest.raises(ValueError, match=message):
        optim.Adam([parameter([1.0], [0.0])], **kwargs)


def small_model_and_grads(seed: int, steps: int):
    rng = np.random.default_rng(seed)
    model = nn.Sequential(nn.Linear(2, 8, generator=rng), nn.Tanh(), nn.Linear(8, 1, generator=rng))
    grads = [
        [rng.standard_normal(p.shape).astype(np.float32) for p in model.parameters()]
        for _ in range(steps)
    ]
    return model, grads


def train(optimizer_cls, grads, model, one_array_limit=None, drop=None, **config):
    """Apply ``grads`` step by step; ``drop``: (step, parameter index) left without a gradient."""
    optimizer = optimizer_cls(model.parameters(), **config)
    if one_array_limit is not None:
        optimizer.ONE_ARRAY_LIMIT = one_array_limit
    for step, step_grads in enumerate(grads):
        for index, (p, g) in enumerate(zip(model.parameters(), step_grads)):
            p.grad = None if (step, index) == drop else g.copy()
        optimizer.step()
    return optimizer


@pytest.mark.parametrize(
    "config",
    [dict(lr=0.01), dict(lr=0.01, weight_decay=0.1, maximize=True)],
    ids=["plain", "weight_decay_maximize"],
)
@pytest.mark.parametrize("optimizer_cls", [optim.Adam, optim.AdamW])
def test_adam_small_groups_as_one_array_give_the_same_bits_as_per_parameter(optimizer_cls, config):
    # the one-array path (small groups) and the per-parameter path do the same arithmetic
    one, grads = small_model_and_grads(0, 5)
    per_parameter, _ = small_model_and_grads(0, 5)
    opt_one = train(optimizer_cls, grads, one, drop=(2, 1), **config)
    opt_per = train(optimizer_cls, grads, per_parameter, one_array_limit=0, drop=(2, 1), **config)
    for p, q in zip(one.parameters(), per_parameter.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
        for key in ("exp_avg", "exp_avg_sq", "step"):
            np.testing.assert_array_equal(opt_one.state[p][key], opt_per.state[q][key])


def test_adam_one_array_state_survives_state_dict_round_trip():
    # a loaded state replaces the arrays the one-array path keeps views of: the next steps
    # must start from the loaded values, exactly as an uninterrupted run does
    straight, grads = small_model_and_grads(1, 6)
    train(optim.Adam, grads, straight, lr=0.01)
    resumed, _ = small_model_and_grads(1, 6)
    first = train(optim.Adam, grads[:3], resumed, lr=0.01)
    second = optim.Adam(resumed.parameters(), lr=0.01)
    second.load_state_dict(first.state_dict())
    for step_grads in grads[3:]:
        for p, g in zip(resumed.parameters(), step_grads):
            p.grad = g.copy()
        second.step()
    for p, q in zip(straight.parameters(), resumed.parameters()):
        np.testing.assert_array_equal(p.data, q.data)
