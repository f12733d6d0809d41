"""What a PyTorch user reaches for first, checked against torch 2.13 in float64: frozen
parameters, set-to-none gradients, maximize, amsgrad, clip_grad_norm_, and the
CrossEntropyLoss options (class weights, ignore_index, label smoothing)."""

import numpy as np
import pytest
from helpers import torch_module
from numpy.testing import assert_allclose

import bpnet
from bpnet import nn, optim

TIGHT = dict(rtol=1e-12, atol=1e-13)


def mlp64() -> nn.Sequential:
    return nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 3)).double()


def train_both(torch, model, make_ours, make_theirs, steps=10, before_step=None, criterion=None):
    """Train ``model`` and its torch mirror side by side in float64; return the mirror."""
    reference = torch_module(model, torch)
    for (_, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        q.requires_grad_(p.requires_grad)
    data = np.random.default_rng(5)
    x = data.standard_normal((16, 4))
    y = data.integers(0, 3, 16)
    criterion = criterion or (nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss())
    ours, theirs = make_ours(model.parameters()), make_theirs(reference.parameters())
    for step in range(steps):
        ours.zero_grad()
        theirs.zero_grad()
        value = criterion[0](model(x), y)
        model.backward(criterion[0].backward())
        value_t = criterion[1](reference(torch.from_numpy(x)), torch.from_numpy(y))
        value_t.backward()
        if before_step:
            before_step(model, reference)
        ours.step()
        theirs.step()
        assert_allclose(value, value_t.item(), **TIGHT, err_msg=f"loss at step {step}")
    for (name, p), (_, q) in zip(model.named_parameters(), reference.named_parameters()):
        assert_allclose(p.data, q.detach().numpy(), **TIGHT, err_msg=name)
    return reference


OPTIMIZERS = {
    "sgd_momentum": ("SGD", dict(lr=0.1, momentum=0.9)),
    "sgd_maximize": ("SGD", dict(lr=0.05, momentum=0.9, weight_decay=0.01, maximize=True)),
    "adam_amsgrad": ("Adam", dict(lr=0.01, amsgrad=True)),
    "adam_maximize": ("Adam", dict(lr=0.01, weight_decay=0.1, maximize=True)),
    "adamw_amsgrad_maximize": ("AdamW", dict(lr=0.01, amsgrad=True, maximize=True)),
    "rmsprop_maximize": ("RMSprop", dict(lr=0.01, momentum=0.5, centered=True, maximize=True)),
}


@pytest.mark.parametrize(("name", "config"), OPTIMIZERS.values(), ids=OPTIMIZERS)
def test_optimizer_options_match_torch_in_float64(torch, name, config):
    train_both(
        torch,
        mlp64(),
        lambda params: getattr(optim, name)(params, **config),
        lambda params: getattr(torch.optim, name)(params, **config),
    )


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop"])
def test_a_frozen_layer_stays_put_and_gets_no_gradient_like_torch(torch, name):
    model = mlp64()
    model[0].requires_grad_(False)
    frozen = model[0].weight.data.copy()
    reference = train_both(
        torch,
        model,
        lambda params: getattr(optim, name)(params, lr=0.01),
        lambda params: getattr(torch.optim, name)(params, lr=0.01),
    )
    assert model[0].weight.grad is None and reference[0].weight.grad is None
    assert_allclose(model[0].weight.data, frozen, rtol=0)


def test_requires_grad_false_on_one_parameter_is_honoured_by_backward_and_adamw():
    model = mlp64()
    model[2].bias.requires_grad = False
    before = model[2].bias.data.copy()
    optimizer = optim.AdamW(model.parameters(), lr=0.1)
    for _ in range(10):
        optimizer.zero_grad()
        model(np.ones((2, 4)))
        model.backward(np.ones((2, 3)))
        optimizer.step()
    assert model[2].bias.grad is None
    assert_allclose(model[2].bias.data, before, rtol=0)


def test_a_parameter_no_backward_reached_is_not_decayed_by_adamw(torch):
    # the case: 10 AdamW steps on a parameter that never got a gradient
    p, q = nn.Parameter(np.ones(1)), torch.nn.Parameter(torch.ones(1, dtype=torch.float64))
    ours, theirs = optim.AdamW([p], lr=0.1), torch.optim.AdamW([q], lr=0.1)
    for _ in range(10):
        ours.zero_grad()
        ours.step()
        theirs.zero_grad()
        theirs.step()
    assert p.data[0] == q.item() == 1.0


def test_set_to_none_false_keeps_zeroed_gradients_and_matches_torch(torch):
    train_both(
        torch,
        mlp64(),
        lambda params: _ZeroingSGD(params, lr=0.1, momentum=0.9),
        lambda params: _torch_zeroing_sgd(torch, params),
    )


class _ZeroingSGD(optim.SGD):
    def zero_grad(self, set_to_none=False):
        super().zero_grad(set_to_none=False)


def _torch_zeroing_sgd(torch, params):
    class ZeroingSGD(torch.optim.SGD):
        def zero_grad(self, set_to_none=False):
            super().zero_grad(set_to_none=False)

    return ZeroingSGD(params, lr=0.1, momentum=0.9)


@pytest.mark.parametrize(
    "max_norm, norm_type", [(0.5, 2.0), (100.0, 2.0), (0.1, 1.0), (0.2, float("inf"))]
)
def test_clip_grad_norm_matches_torch(torch, max_norm, norm_type):
    def clip(model, reference):
        total = nn.utils.clip_grad_norm_(model.parameters(), max_norm, norm_type)
        total_t = torch.nn.utils.clip_grad_norm_(reference.parameters(), max_norm, norm_type)
        assert_allclose(total, total_t.item(), **TIGHT)

    train_both(
        torch,
        mlp64(),
        lambda params: optim.SGD(params, lr=0.5),
        lambda params: torch.optim.SGD(params, lr=0.5),
        before_step=clip,
    )


CROSS_ENTROPY = {
    "weight": dict(weight=[0.2, 1.0, 3.0]),
    "ignore_index": dict(ignore_index=1),
    "label_smoothing": dict(label_smoothing=0.1),
    "everything": dict(weight=[0.5, 2.0, 1.0], ignore_index=2, label_smoothing=0.2),
}


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("options", CROSS_ENTROPY.values(), ids=CROSS_ENTROPY)
def test_crossentropy_options_match_torch_in_float64(torch, rng, options, reduction):
    x = rng.standard_normal((9, 3)) * 3
    y = rng.integers(0, 3, 9)
    upstream = rng.standard_normal(9) if reduction == "none" else 1.7
    ours = nn.CrossEntropyLoss(**options, reduction=reduction)
    value = ours(x, y)
    grad = ours.backward(upstream)

    torch_options = dict(options)
    if "weight" in options:
        torch_options["weight"] = torch.tensor(options["weight"], dtype=torch.float64)
    x_t = torch.tensor(x, requires_grad=True)
    value_t = torch.nn.CrossEntropyLoss(**torch_options, reduction=reduction)(
        x_t, torch.from_numpy(y)
    )
    value_t.backward(torch.as_tensor(upstream, dtype=torch.float64))
    assert_allclose(value, value_t.detach().numpy(), **TIGHT)
    assert_allclose(grad, x_t.grad.numpy(), **TIGHT)


def test_crossentropy_with_weights_trains_like_torch(torch):
    weight = [0.3, 1.0, 2.0]
    train_both(
        torch,
        mlp64(),
        lambda params: optim.SGD(params, lr=0.1),
        lambda params: torch.optim.SGD(params, lr=0.1),
        criterion=(
            nn.CrossEntropyLoss(weight=weight, label_smoothing=0.1),
            torch.nn.CrossEntropyLoss(
                weight=torch.tensor(weight, dtype=torch.float64), label_smoothing=0.1
            ),
        ),
    )


def test_crossentropy_weight_of_the_wrong_length_names_both_counts():
    with pytest.raises(ValueError, match="2 entries but the logits have 3 classes"):
        nn.CrossEntropyLoss(weight=[1.0, 2.0])(np.zeros((1, 3)), np.array([0]))


def test_loss_value_has_item_like_a_torch_scalar():
    loss = nn.CrossEntropyLoss()(np.zeros((2, 3)), np.array([0, 1]))
    assert isinstance(loss.item(), float)
    assert loss.item() == pytest.approx(np.log(3))
    assert isinstance(nn.MSELoss()(np.ones(2), np.zeros(2)).item(), float)


def test_no_grad_keeps_nothing_for_backward_and_restores_the_mode():
    model = nn.Sequential(nn.Linear(3, 2))
    with bpnet.no_grad():
        assert not bpnet.is_grad_enabled()
        model(np.ones((1000, 3)))
    assert bpnet.is_grad_enabled()
    assert model[0]._x is None  # no batch of activations held after an evaluation
    with pytest.raises(bpnet.errors.GraphError, match="call forward"):
        model[0].backward(np.ones((1000, 2)))

    @bpnet.no_grad()
    def evaluate():
        return bpnet.is_grad_enabled()

    assert evaluate() is False and bpnet.is_grad_enabled()
