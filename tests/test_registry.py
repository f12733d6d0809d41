"""The registry is the one source of each vocabulary: configs, the optimizer factory, the
CLI and the momentum rules all follow it, and a name it lacks fails loudly."""

import numpy as np
import pytest

from bpnet import nn, optim
from bpnet.cli import build_parser
from bpnet.engine import TASKS, ConfigError, parse_config
from bpnet.engine.registry import ACTIVATIONS, LR_SCHEDULES, OPTIMIZERS, build_optimizer
from bpnet.engine.tasks import build_optimizer as build_for_config


def _params():
    return nn.Linear(2, 1).parameters()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_registered_optimizer_is_accepted_and_built(name):
    config = parse_config({"task": "curve", "optimizer": name})
    assert isinstance(build_for_config(config, _params()), optim.Optimizer)


def test_an_unknown_optimizer_name_raises_instead_of_falling_through():
    with pytest.raises(ConfigError) as caught:
        build_optimizer("lbfgs", _params(), lr=0.1)
    assert caught.value.field == "optimizer" and "adam" in caught.value.message


def test_sgd_means_plain_sgd_without_momentum():
    opt = build_for_config(parse_config({"task": "curve", "optimizer": "sgd"}), _params())
    assert opt.param_groups[0]["momentum"] == 0


@pytest.mark.parametrize("name", [n for n, spec in OPTIMIZERS.items() if spec.momentum is None])
def test_momentum_is_refused_where_it_does_not_apply(name):
    with pytest.raises(ConfigError) as caught:
        parse_config({"task": "curve", "optimizer": name, "momentum": 0.9})
    assert caught.value.field == "momentum"
    assert "momentum applies to momentum, nesterov and rmsprop" in caught.value.message


@pytest.mark.parametrize("name", [n for n, spec in OPTIMIZERS.items() if spec.momentum is not None])
def test_momentum_defaults_per_optimizer_and_can_be_set(name):
    default = parse_config({"task": "curve", "optimizer": name})
    assert default.momentum_value == OPTIMIZERS[name].momentum
    chosen = parse_config({"task": "curve", "optimizer": name, "momentum": 0.5})
    assert build_for_config(chosen, _params()).param_groups[0]["momentum"] == 0.5


@pytest.mark.parametrize("task", list(TASKS))
def test_config_choices_are_the_registry_names(task):
    for field, names in [
        ("activation", ACTIVATIONS),
        ("optimizer", OPTIMIZERS),
        ("lr_schedule", LR_SCHEDULES),
    ]:
        for name in names:
            parse_config(
                {"task": task, field: name}
                if task != "mnist"
                else {"task": task, field: name, "train_subset": 100}
            )
        with pytest.raises(ConfigError):
            parse_config({"task": task, field: "not-a-" + field})


def test_each_activation_builds_its_module():
    for name, cls in ACTIVATIONS.items():
        from bpnet.engine.tasks import build_mlp

        model = build_mlp([2, 3, 1], name, np.random.default_rng(0))
        assert isinstance(model[1], cls)


def test_the_cli_offers_every_task_and_every_choice():
    parser = build_parser()
    for task in TASKS:
        args = parser.parse_args(["train", task, "--optimizer", "sgd"])
        assert args.task == task and args.optimizer == "sgd"
    with pytest.raises(SystemExit):
        parser.parse_args(["train", "curve", "--activation", "swish"])


@pytest.mark.parametrize("task", list(TASKS))
def test_each_page_offers_the_registry_choices_with_the_task_defaults_selected(task):
    import re

    from bpnet.engine import defaults
    from webapp import create_app

    html = create_app({"TESTING": True}).test_client().get(f"/{task}").data.decode()

    def menu(name):
        select = re.search(rf'<select id="{name}".*?</select>', html, flags=re.S).group(0)
        options = re.findall(r"<option([^>]*)>([^<]+)</option>", select)
        return [text for _, text in options], [
            text for attrs, text in options if "selected" in attrs
        ]

    for name, names in [("activation", ACTIVATIONS), ("optimizer", OPTIMIZERS),
                        ("lr_schedule", LR_SCHEDULES)]:  # fmt: skip
        offered, selected = menu(name)
        assert offered == list(names)
        assert selected == [defaults(task)[name]]
    takes_momentum = OPTIMIZERS[defaults(task)["optimizer"]].momentum is not None
    assert ('id="momentum-field" title="can be changed while training" hidden' in html) != (
        takes_momentum
    )
