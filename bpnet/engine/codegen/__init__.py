"""The code that reproduces a run: a runnable bpnet script for a config, and its PyTorch twin.

Both are written from the objects the engine itself builds for that config (the task's
data, network, loss, penalty, optimizer and schedule), so the script cannot drift from what
a job does: for the same config it prints the same per-epoch training loss as the job. The
twin uses the same data and initial weights (drawn by bpnet from the same seed) and the
same batch order, so its first step's loss agrees with bpnet's to float32 precision.
"""

from __future__ import annotations

import inspect

from ... import nn
from ..config import TrainingConfig, as_dict
from ..tasks import build_optimizer, build_schedule, build_task
from ..tasks.penalty import Penalized
from .data import data_lines
from .scripts import bpnet_script, torch_script


def scripts(config: TrainingConfig) -> dict[str, str]:
    """``{"bpnet": source, "torch": source}`` for this config; both run as they are."""
    task = build_task(config)
    model = task.build_model()  # a classify task sets its penalised criterion here
    optimizer = build_optimizer(config, model.parameters())
    criterion = task.criterion
    penalty = None
    if isinstance(criterion, Penalized):
        penalty = {"kind": config.regularization, "rate": criterion.rate}
        criterion = criterion.criterion
    parts = {
        "model": _modules(model),
        "criterion": f"{type(criterion).__name__}()",
        "classes": isinstance(criterion, nn.CrossEntropyLoss),  # targets are class indices
        "penalty": penalty,
        "optimizer": _call(optimizer, optimizer.defaults, skip={"params"}),
        "schedule": _schedule(build_schedule(config, optimizer)),
        "data": data_lines(config, task),
        "settings": _settings(config),
    }
    return {"bpnet": bpnet_script(config, parts), "torch": torch_script(config, parts)}


def _settings(config: TrainingConfig) -> str:
    text = ", ".join(f"{name}={value!r}" for name, value in as_dict(config).items())
    if len(text) > 2000:  # a user's own points: the script lists them all further down
        text = text[:2000] + " …"
    lines, line = [], ""
    for word in text.split(" "):  # wrap the docstring at ~88 columns
        if len(line) + len(word) > 84:
            lines.append(line.rstrip())
            line = ""
        line += word + " "
    return "\n    ".join([*lines, line.rstrip()])


def _modules(model: nn.Sequential) -> list[tuple[str, str, bool]]:
    """Each layer as (class name, constructor arguments, whether it draws initial weights),
    from its PyTorch-style repr and its constructor's signature."""
    return [
        (
            type(m).__name__,
            m.extra_repr(),
            "generator" in inspect.signature(type(m).__init__).parameters,
        )
        for _, m in model.named_children()
    ]


def _call(obj, values: dict, skip: set[str]) -> str:
    """``Name(model.parameters(), lr=…, …)``: the arguments that differ from the defaults."""
    signature = inspect.signature(type(obj).__init__)
    arguments = []
    for name, parameter in signature.parameters.items():
        if name in skip or name == "self" or name not in values:
            continue
        value = values[name]
        required = parameter.default is inspect.Parameter.empty
        if required or name == "lr" or value != parameter.default:  # lr: always shown
            arguments.append(f"{name}={value!r}")
    return f"{type(obj).__name__}({', '.join(['model.parameters()', *arguments])})"


def _schedule(schedule) -> str | None:
    if schedule is None:
        return None
    call = _call(schedule, vars(schedule), skip={"optimizer", "last_epoch"})
    return call.replace("model.parameters()", "optimizer")
