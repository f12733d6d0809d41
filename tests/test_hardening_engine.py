"""The engine's second-round guards: formulas checked on the points actually sampled,
values past float32 refused, booleans and vanishing learning rates refused, the per-job
budget, and a network that stopped learning told with advice."""

from __future__ import annotations

import math

import pytest

from bpnet.engine import ConfigError, TrainingJob, budget, parse_config
from bpnet.engine.diagnostics import LearningWatch
from bpnet.engine.tasks.mnist import MnistTask


def refusal(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    return caught.value


def test_a_pole_between_grid_points_is_refused_at_start():
    # 1/floor(x*1000) is finite on the 200-point grid but not on 100,000 sampled points
    error = refusal({"task": "curve", "expression": "1/floor(x*1000)", "n_train": 100_000})
    assert error.field == "expression"
    assert "not finite at x = 0.000" in error.message


@pytest.mark.parametrize("expression", ["x*1e300", "exp(x)^100"])
def test_values_past_float32_are_an_expression_error_naming_where(expression):
    error = refusal({"task": "curve", "expression": expression})
    assert error.field == "expression"
    assert "the function's values overflow between x = " in error.message


def test_a_surface_overflow_names_both_ranges():
    error = refusal({"task": "surface", "expression": "x*y*1e300"})
    assert error.field == "expression"
    assert "x = -2 and 2, y = -2 and 2" in error.message


def test_a_boolean_is_not_a_batch_size():
    assert refusal({"task": "curve", "batch_size": True}).field == "batch_size"


@pytest.mark.parametrize("lr", [5e-324, 1e-9])
def test_a_learning_rate_below_1e_8_is_refused(lr):
    error = refusal({"task": "curve", "lr": lr})
    assert error.field == "lr"
    assert parse_config({"task": "curve", "lr": 1e-8}).lr == 1e-8


def test_the_budget_names_the_product_and_the_largest_allowed_batch():
    widest = [1024] * 6
    error = refusal({"task": "curve", "hidden": widest, "batch_size": 4096})
    assert error.field == "batch_size"
    assert "batch_size × parameters is too large: 4,096 × 5,251,073" in error.message
    largest = budget.STEP_WORK // budget.parameter_count((1, *widest, 1))
    assert f"use batch_size {largest} or less" in error.message
    parse_config({"task": "curve", "hidden": widest, "batch_size": largest})  # allowed
    with pytest.raises(ConfigError):
        parse_config({"task": "curve", "hidden": widest, "batch_size": largest + 1})


def test_the_memory_estimate_refuses_naming_the_largest_kind(monkeypatch):
    monkeypatch.setattr(budget, "MEMORY_BUDGET", 10 * 2**20)
    error = refusal({"task": "mnist", "hidden": [1024, 1024], "batch_size": 16})
    assert error.field == "hidden"
    assert "parameters × optimizer state" in error.message


def test_every_default_config_fits_the_budget():
    for task in ("curve", "surface", "mnist"):
        parse_config({"task": task})


def test_a_network_that_died_fails_with_advice_instead_of_training_on(monkeypatch):
    # sgd at lr 3 on a small MNIST subset: accuracy falls to chance and stays there. The
    # watch judges reported epochs; report every one, or the verdict depends on the speed.
    monkeypatch.setattr(MnistTask, "max_epoch_rate", math.inf)
    job = TrainingJob(parse_config({"task": "mnist", "train_subset": 1000, "hidden": [64],
                                    "optimizer": "sgd", "lr": 3.0, "epochs": 8}))  # fmt: skip
    events: list = []
    job.run(events.append)
    assert job.state == "failed", job.message
    assert job.message.startswith("the network stopped learning")
    assert "learning rate 3 is probably too large" in job.message


def test_zero_gradients_for_two_epochs_are_called_dead():
    watch = LearningWatch(chance_accuracy=None)
    picture = {"val_loss": 1.0}
    assert watch.verdict(1, picture, [0.5, 0.1], lr=0.1) is None
    assert watch.verdict(2, picture, [0.0, 0.0], lr=0.1) is None
    verdict = watch.verdict(3, picture, [0.0, 0.0], lr=0.1)
    assert "every layer's gradient has been zero since epoch 2" in verdict
    assert "leaky_relu" in verdict


def test_a_slow_learner_at_chance_is_not_called_dead_while_its_loss_falls():
    watch = LearningWatch(chance_accuracy=0.1)
    for epoch, loss in enumerate([2.30, 2.25, 2.20, 2.15], start=1):
        assert watch.verdict(epoch, {"val_loss": loss, "val_accuracy": 0.11}, [0.1], 1e-4) is None


def test_a_noise_of_minus_zero_trains_like_zero():
    # numpy refuses a scale of -0.0 as negative; the data set is now built at start
    config = parse_config({"task": "curve", "noise": -0.0, "epochs": 2, "hidden": [4]})
    job = TrainingJob(config)
    job.run(lambda event: None)
    assert job.state == "finished", job.message
