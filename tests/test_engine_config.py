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
        ({"task": "curve", "lr": -1}, "lr", "from 1e-08 to 10"),
        ({"task": "curve", "lr": math.nan}, "lr", "got nan"),
        ({"task": "curve", "lr": math.inf}, "lr", "got inf"),
        ({"task": "curve", "lr": "0.1"}, "lr", "must be a number"),
        ({"task": "curve", "epochs": True}, "epochs", "a whole number"),
        ({"task": "curve", "epochs": 2.5}, "epochs", "a whole number"),
        ({"task": "curve", "epochs": 100_001}, "epochs", "from 1 to 100000"),
        ({"task": "curve", "hidden": [8] * 7}, "hidden", "1 to 6 layer sizes"),
        ({"task": "curve", "hidden": [8, 2000]}, "hidden.1", "1024"),
        ({"task": "curve", "hidden": []}, "hidden", "1 to 6 layer sizes"),
        ({"task": "curve", "activation": "swish"}, "activation", "relu"),
        ({"task": "curve", "optimizer": "lbfgs"}, "optimizer", "adam"),
        ({"task": "curve", "x_range": [3, -3]}, "x_range", "min must be below the max"),
        ({"task": "curve", "x_range": [1, 2, 3]}, "x_range", "two numbers"),
        ({"task": "curve", "n_train": 10**6}, "n_train", "100000"),
        ({"task": "curve", "expression": "__import__('os')"}, "expression", "unknown name"),
        ({"task": "curve", "expression": "log(x)"}, "expression", "not finite"),
        ({"task": "curve", "bogus": 1}, "bogus", "unknown field 'bogus'"),
        ({"task": "surface", "grid": 1000}, "grid", "100"),
        ({"task": "mnist", "train_subset": 5}, "train_subset", "from 100 to 60000"),
        ({"task": "mnist", "expression": "x"}, "expression", "unknown field"),
        ({"task": "mnist", "architecture": "rnn"}, "architecture", "one of mlp, cnn"),
        ({"task": "mnist", "channels": [8, 64]}, "channels.1", "each a whole number from 1 to 32"),
        ({"task": "mnist", "channels": [8]}, "channels", "2 numbers"),
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


# Each message a learner can meet: the field's rule in plain words, an example of a good
# value as they would type it, and what they sent; never the validation library's jargon.
MESSAGES = [
    ({"task": "curve", "lr": -1},
     "lr must be a number from 1e-08 to 10, e.g. 0.01; got -1"),
    ({"task": "curve", "epochs": 2.5},
     "epochs must be a whole number from 1 to 100000, e.g. 500; got 2.5"),
    ({"task": "curve", "hidden": [8, 2000]},
     "hidden must be 1 to 6 layer sizes separated by commas, each a whole number from 1 to 1024,"
     " e.g. 64,64; got [8, 2000]"),
    ({"task": "curve", "hidden": "abc"},
     "hidden must be 1 to 6 layer sizes separated by commas, each a whole number from 1 to 1024,"
     " e.g. 64,64; got 'abc'"),
    ({"task": "mnist", "hidden": [8] * 7},
     "hidden must be 1 to 6 layer sizes separated by commas, each a whole number from 1 to 1024,"
     " e.g. 256,128; got [8, 8, 8, 8, 8, 8, 8]"),
    ({"task": "curve", "x_range": [None, 2]},
     "x_range must be two numbers, the min then the max, each from -1000 to 1000,"
     " e.g. -3.1416,3.1416; got [null, 2]"),
    ({"task": "surface", "y_range": [2, -2]},
     "y_range: the min must be below the max, e.g. -2,2; got 2 and -2"),
    ({"task": "curve", "activation": "swish"},
     "activation must be one of relu, tanh, sigmoid, leaky_relu, e.g. tanh; got 'swish'"),
    ({"task": "curve", "momentum": 1},
     "momentum must be a number at least 0 and below 1, e.g. 0.9; got 1"),
    ({"task": "mnist", "train_subset": 5},
     "train_subset must be a whole number from 100 to 60000, e.g. 10000; got 5"),
    ({"task": "curve", "expression": "x" * 5000},
     "expression must be text of at most 200 characters, e.g. sin(x); got a text of 5000 characters"),
    ({"task": "curve", "epochs": True},
     "epochs must be a whole number from 1 to 100000, e.g. 500; got true"),
]  # fmt: skip


@pytest.mark.parametrize(("data", "message"), MESSAGES, ids=[str(d)[:40] for d, _ in MESSAGES])
def test_each_config_message_gives_the_rule_an_example_and_what_was_sent(data, message):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    assert caught.value.message == message


JARGON = ["after validation", "Input should", "valid list", "valid number", "valid integer",
          "greater than or equal", "less than or equal", "List should", "hidden.", "x_range.",
          "type=", "pydantic", "Value error"]  # fmt: skip


@pytest.mark.parametrize(
    "data",
    [{"task": "curve", "hidden": v} for v in ([0], [1, 2, 3, 4, 5, 6, 7], "abc", [1.5], None)]
    + [{"task": "curve", "x_range": v} for v in ([None, 1], [1], "a", [1, 2000], [5, 1])]
    + [{"task": "curve", key: "x"} for key in ("lr", "epochs", "momentum", "noise", "seed")]
    + [{"task": "mnist", "dataset": "cifar"}, {"task": "mnist", "train_subset": 1.5}],
)
def test_no_message_shows_the_validation_library_wording(data):
    with pytest.raises(ConfigError) as caught:
        parse_config(data)
    for words in JARGON:
        assert words not in caught.value.message
    assert "e.g." in caught.value.message


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
