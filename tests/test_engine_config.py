"""Training configs: defaults that work, and a clear refusal naming the field for anything else."""

import math

import pytest

from bpnet.engine import TASKS, ConfigError, as_dict, defaults, parse_config, parse_update


@pytest.mark.parametrize("task", list(TASKS))
def test_defaults_are_valid_and_complete(task):
    config = parse_config({"task": task})
    assert config.task == task
    assert defaults(task)["task"] == task
    # null where the optimizer takes no momentum, so the defaults parse back as a config
    assert as_dict(parse_config(defaults(task))) == defaults(task)


@pytest.mark.parametrize(
    ("data", "field", "words"),
    [
        ({"task": "curve", "lr": -1}, "lr", "greater than or equal to"),
        ({"task": "curve", "lr": math.nan}, "lr", "finite"),
        ({"task": "curve", "lr": math.inf}, "lr", "finite"),
        ({"task": "curve", "lr": "0.1"}, "lr", "valid number"),
        ({"task": "curve", "epochs": True}, "epochs", "valid integer"),
        ({"task": "curve", "epochs": 2.5}, "epochs", "valid integer"),
        ({"task": "curve", "epochs": 100_001}, "epochs", "less than or equal to 100000"),
        ({"task": "curve", "hidden": [8] * 7}, "hidden", "at most 6"),
        ({"task": "curve", "hidden": [8, 2000]}, "hidden.1", "1024"),
        ({"task": "curve", "hidden": []}, "hidden", "at least 1"),
        ({"task": "curve", "activation": "swish"}, "activation", "relu"),
        ({"task": "curve", "optimizer": "lbfgs"}, "optimizer", "adam"),
        ({"task": "curve", "x_range": [3, -3]}, "x_range", "minimum must be below"),
        ({"task": "curve", "x_range": [1, 2, 3]}, "x_range", "at most 2"),
        ({"task": "curve", "n_train": 10**6}, "n_train", "100000"),
        ({"task": "curve", "expression": "__import__('os')"}, "expression", "allowed"),
        ({"task": "curve", "expression": "log(x)"}, "expression", "not finite"),
        ({"task": "curve", "bogus": 1}, "bogus", "unknown field 'bogus'"),
        ({"task": "surface", "grid": 1000}, "grid", "100"),
        ({"task": "mnist", "train_subset": 5}, "train_subset", "greater than or equal to 100"),
        ({"task": "mnist", "expression": "x"}, "expression", "unknown field"),
        ({"task": "mnist", "architecture": "rnn"}, "architecture", "'mlp' or 'cnn'"),
        ({"task": "mnist", "channels": [8, 64]}, "channels.1", "less than or equal to 32"),
        ({"task": "mnist", "channels": [8]}, "channels", "at least 2"),
        ({"task": "chess"}, "task", "choose curve, surface, mnist or classify"),
        ({}, "task", "choose curve, surface, mnist or classify"),
    ],
)
def test_bad_fields_are_refused_with_the_field_named(data, field, words):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.field == field
    assert words in caught.value.message
    assert field.split(".")[0] in caught.value.message


@pytest.mark.parametrize("data", [None, 3, "curve", ["task"]])
def test_a_config_that_is_not_an_object_is_refused(data):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.field is None
    assert "object" in caught.value.message


def test_live_updates_are_validated():
    assert parse_update({"lr": 0.5}).lr == 0.5
    for bad, field in [
        ({"lr": 0}, "lr"),
        ({"momentum": 1.0}, "momentum"),
        ({"epochs": 3}, "epochs"),
    ]:
        with pytest.raises(ConfigError) as caught:
            parse_update(bad)
        assert caught.value.field == field
    with pytest.raises(ConfigError):
        parse_update({})
