"""StepLR and CosineAnnealingLR: the learning-rate sequence over 30 epochs equals PyTorch's."""

import math

import numpy as np
import pytest
from numpy.testing import assert_allclose

from bpnet import nn, optim


def bpnet_optimizer(lr=0.1):
    return optim.SGD([nn.Parameter(np.zeros(2, np.float32))], lr=lr, momentum=0.9)


def torch_optimizer(torch, lr=0.1):
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=lr, momentum=0.9)


def lr_sequence(optimizer, scheduler, epochs, set_lr_at=None):
    """The lr used in each epoch; ``set_lr_at`` = {epoch: lr} changes it by hand first."""
    seen = []
    for epoch in range(epochs):
        if set_lr_at and epoch in set_lr_at:
            optimizer.param_groups[0]["lr"] = set_lr_at[epoch]
        seen.append(optimizer.param_groups[0]["lr"])
        optimizer.step()  # torch warns if the scheduler steps before the optimizer
        scheduler.step()
        assert scheduler.get_last_lr() == [group["lr"] for group in optimizer.param_groups]
    return seen


SCHEDULES = {
    "step": ("StepLR", dict(step_size=7, gamma=0.5)),
    "step_every_epoch": ("StepLR", dict(step_size=1, gamma=0.9)),
    "cosine": ("CosineAnnealingLR", dict(T_max=30)),
    "cosine_restarts": ("CosineAnnealingLR", dict(T_max=8, eta_min=0.01)),
}


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES.values(), ids=SCHEDULES.keys())
def test_schedule_matches_torch_over_30_epochs(torch, name, kwargs):
    ours = bpnet_optimizer()
    theirs = torch_optimizer(torch)
    expected = lr_sequence(theirs, getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs), 30)
    got = lr_sequence(ours, getattr(optim, name)(ours, **kwargs), 30)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES.values(), ids=SCHEDULES.keys())
def test_schedule_respects_a_learning_rate_changed_by_hand_like_torch(torch, name, kwargs):
    changes = {5: 0.05, 17: 0.3}
    ours = bpnet_optimizer()
    theirs = torch_optimizer(torch)
    scheduler = getattr(torch.optim.lr_scheduler, name)(theirs, **kwargs)
    expected = lr_sequence(theirs, scheduler, 30, changes)
    got = lr_sequence(ours, getattr(optim, name)(ours, **kwargs), 30, changes)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_step_lr_multiplies_by_gamma_every_step_size_epochs():
    optimizer = bpnet_optimizer(lr=1.0)
    seen = lr_sequence(optimizer, optim.StepLR(optimizer, step_size=2, gamma=0.1), 6)
    assert_allclose(seen, [1.0, 1.0, 0.1, 0.1, 0.01, 0.01])


def test_cosine_follows_the_closed_form_for_the_first_t_max_epochs():
    optimizer = bpnet_optimizer(lr=0.2)
    seen = lr_sequence(optimizer, optim.CosineAnnealingLR(optimizer, T_max=10, eta_min=0.02), 11)
    closed_form = [0.02 + 0.18 * (1 + math.cos(math.pi * t / 10)) / 2 for t in range(11)]
    assert_allclose(seen, closed_form, rtol=1e-12)
    assert seen[-1] == pytest.approx(0.02)


def test_schedulers_set_every_param_group_from_its_own_initial_lr():
    a, b = nn.Parameter(np.zeros(1)), nn.Parameter(np.zeros(1))
    optimizer = optim.SGD([{"params": [a]}, {"params": [b], "lr": 1.0}], lr=0.1)
    scheduler = optim.StepLR(optimizer, step_size=1, gamma=0.5)
    scheduler.step()
    assert scheduler.get_last_lr() == [0.05, 0.5]
    assert [group["initial_lr"] for group in optimizer.param_groups] == [0.1, 1.0]


def test_scheduler_state_dict_round_trip_resumes_the_sequence():
    optimizer = bpnet_optimizer(lr=1.0)
    scheduler = optim.CosineAnnealingLR(optimizer, T_max=10)
    for _ in range(4):
        scheduler.step()
    scheduler_state, optimizer_state = scheduler.state_dict(), optimizer.state_dict()
    assert "optimizer" not in scheduler_state
    expected = lr_sequence(optimizer, scheduler, 5)

    # PyTorch's order: build the scheduler, then load both states
    resumed_optimizer = bpnet_optimizer(lr=1.0)
    resumed = optim.CosineAnnealingLR(resumed_optimizer, T_max=10)
    resumed.load_state_dict(scheduler_state)
    resumed_optimizer.load_state_dict(optimizer_state)
    assert_allclose(lr_sequence(resumed_optimizer, resumed, 5), expected, rtol=1e-12)


@pytest.mark.parametrize(("name", "kwargs"), SCHEDULES.values(), ids=SCHEDULES.keys())
def test_resuming_with_last_epoch_keeps_the_loaded_lr_like_torch(torch, name, kwargs):
    """Resume after 12 epochs: load the optimizer (lr, initial_lr), then build the scheduler
    with ``last_epoch=11``; its first step must not overwrite the lr set by hand at epoch 5."""

    def resumed_sequence(library, make_optimizer, schedulers):
        optimizer = make_optimizer()
        scheduler = getattr(schedulers, name)(optimizer, **kwargs)
        lr_sequence(optimizer, scheduler, 12, set_lr_at={5: 0.05})
        saved = optimizer.state_dict()
        resumed_optimizer = make_optimizer()
        resumed_optimizer.load_state_dict(saved)
        resumed = getattr(schedulers, name)(resumed_optimizer, last_epoch=11, **kwargs)
        return lr_sequence(resumed_optimizer, resumed, 18)

    expected = resumed_sequence(torch, lambda: torch_optimizer(torch), torch.optim.lr_scheduler)
    got = resumed_sequence(None, bpnet_optimizer, optim)
    assert_allclose(got, expected, rtol=1e-12, atol=1e-15)


def test_scheduler_arguments_are_checked():
    with pytest.raises(ValueError, match="step_size must be a positive integer, got 0"):
        optim.StepLR(bpnet_optimizer(), step_size=0)
    with pytest.raises(ValueError, match="T_max must be a positive integer, got 0"):
        optim.CosineAnnealingLR(bpnet_optimizer(), T_max=0)
    with pytest.raises(TypeError, match="list is not an Optimizer"):
        optim.StepLR([], step_size=1)
