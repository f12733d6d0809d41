"""The per-job budget on MNIST's CNN: it counts the network the job builds (parameters,
optimizer state, each layer's activations and patch matrices per image, multiply-adds) and
refuses a batch that would take more, naming the field and the largest batch allowed."""

import re

import pytest

from bpnet.engine import ConfigError, budget, parse_config
from bpnet.engine.tasks import build_task

CNN = {"task": "mnist", "architecture": "cnn", "optimizer": "adam"}


def refusal(config: dict) -> ConfigError:
    with pytest.raises(ConfigError) as caught:
        parse_config(config)
    return caught.value


def test_the_cnn_cost_counts_the_parameters_of_the_network_the_job_builds():
    config = parse_config({**CNN, "channels": [5, 7]})
    model = build_task(config).build_model()
    assert budget.cost(config).parameters == sum(p.data.size for p in model.parameters())


def test_the_cnn_activations_grow_with_the_batch_and_the_channels():
    def activation_bytes(channels, batch):
        config = parse_config({**CNN, "channels": channels, "batch_size": batch})
        return budget.cost(config).activation_bytes

    assert activation_bytes([8, 16], 64) == 2 * activation_bytes([8, 16], 32)
    assert activation_bytes([16, 16], 32) > activation_bytes([8, 16], 32)


def test_a_cnn_batch_over_the_step_work_is_refused_with_the_largest_allowed():
    error = refusal({**CNN, "channels": [32, 32], "batch_size": 4096})
    assert error.field == "batch_size"
    assert "batch_size × multiply-adds per image is too large" in error.message
    assert "With channels [32, 32] use batch_size" in error.message
    largest = int(re.search(r"use batch_size ([\d,]+) or less", error.message).group(1))
    assert (
        largest
        == budget.CNN_STEP_WORK
        // budget.cost(parse_config({**CNN, "channels": [32, 32], "batch_size": 1})).work
    )
    parse_config({**CNN, "channels": [32, 32], "batch_size": largest})  # allowed
    with pytest.raises(ConfigError):
        parse_config({**CNN, "channels": [32, 32], "batch_size": largest + 1})


def test_a_cnn_batch_over_the_memory_budget_is_refused_with_the_largest_allowed():
    error = refusal({**CNN, "channels": [1, 1], "batch_size": 4096})  # within the step work
    assert error.field == "batch_size"
    assert "batch_size × activations per example" in error.message
    largest = int(re.search(r"at most ([\d,]+) here", error.message).group(1).replace(",", ""))
    parse_config({**CNN, "channels": [1, 1], "batch_size": largest})  # allowed
    with pytest.raises(ConfigError):
        parse_config({**CNN, "channels": [1, 1], "batch_size": largest + 1})


def test_the_memory_refusal_names_channels_when_the_parameters_dominate(monkeypatch):
    monkeypatch.setattr(budget, "MEMORY_BUDGET", 2**20)
    error = refusal({**CNN, "channels": [32, 32], "batch_size": 1})
    assert error.field == "channels" and "parameters × optimizer state" in error.message


@pytest.mark.parametrize("task", ["curve", "surface", "mnist", "classify"])
def test_every_default_config_fits_the_budget(task):
    parse_config({"task": task})
    if task == "mnist":
        parse_config({"task": task, "architecture": "cnn"})


def test_the_cnn_evaluates_in_chunks_that_fit_the_budget():
    config = parse_config({**CNN, "channels": [32, 32], "batch_size": 8})
    planned = budget.cost(config)
    assert 1 <= planned.eval_rows < 10_000  # never the whole validation set at once
    assert build_task(config).eval_rows == planned.eval_rows  # what the job evaluates with
