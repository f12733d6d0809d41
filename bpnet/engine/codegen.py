"""The code that reproduces a run: a runnable bpnet script for a config, and its PyTorch twin.

Both are written from the objects the engine itself builds for that config (the task's
data call, network, loss, optimizer and schedule), so the script cannot drift from what a
job does: for the same config it prints the same per-epoch training loss as the job. The
twin uses the same data and initial weights (drawn by bpnet from the same seed) and the
same batch order, so its first step's loss agrees with bpnet's to float32 precision.
"""

from __future__ import annotations

import inspect

from .. import nn
from ..errors import ConfigError
from .config import TrainingConfig, as_dict
from .tasks import build_optimizer, build_schedule, build_task, function_data_call

HEADER = '''"""{title}: {what}.

Written by the bpnet dashboard for these settings:
    {settings}
"""
'''


WRITTEN_FOR = ("curve", "surface", "mnist")  # the tasks whose data this module can write


def scripts(config: TrainingConfig) -> dict[str, str]:
    """``{"bpnet": source, "torch": source}`` for this config; both run as they are.

    Raises:
        ConfigError: for a task whose script is not written yet.
    """
    if config.task not in WRITTEN_FOR:
        raise ConfigError(
            "task", f"Show code is not available for {config.task} yet; it is for "
            f"{', '.join(WRITTEN_FOR)}",
        )  # fmt: skip
    if getattr(config, "architecture", "mlp") != "mlp":
        raise ConfigError(
            "architecture", "Show code is written for the mlp network so far, not the cnn"
        )
    task = build_task(config)
    model = task.build_model()
    optimizer = build_optimizer(config, model.parameters())
    parts = {
        "model": _modules(model),
        "criterion": f"{type(task.criterion).__name__}()",
        "optimizer": _call(optimizer, optimizer.defaults, skip={"params"}),
        "schedule": _schedule(build_schedule(config, optimizer)),
        "data": _data(config),
        "settings": _settings(config),
    }
    return {"bpnet": _bpnet(config, parts), "torch": _torch(config, parts)}


def _settings(config: TrainingConfig) -> str:
    text = ", ".join(f"{name}={value!r}" for name, value in as_dict(config).items())
    lines, line = [], ""
    for word in text.split(" "):  # wrap the docstring at ~88 columns
        if len(line) + len(word) > 84:
            lines.append(line.rstrip())
            line = ""
        line += word + " "
    return "\n    ".join([*lines, line.rstrip()])


def _modules(model: nn.Sequential) -> list[tuple[str, str]]:
    """Each layer as (class name, constructor arguments), from its PyTorch-style repr."""
    return [(type(m).__name__, m.extra_repr()) for _, m in model.named_children()]


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


def _data(config: TrainingConfig) -> dict:
    """The lines that load the data, and the names of the arrays they make."""
    if config.task in ("curve", "surface"):
        name, kwargs = function_data_call(config)
        expression = kwargs.pop("expression")
        arguments = ", ".join(f"{key}={value!r}" for key, value in kwargs.items())
        return {
            "imports": "from bpnet.datasets import functions",
            "load": f"data = functions.{name}(\n    {expression!r},\n    {arguments},\n)\n"
            "x_train, y_train, x_val, y_val = data.x_train, data.y_train, data.x_val, data.y_val\n"
            "indices = np.arange(len(x_train))",
        }
    load = (
        f"x_train, y_train = load_dataset({config.dataset!r}, 'train')\n"
        f"x_val, y_val = load_dataset({config.dataset!r}, 'test')\n"
        "indices = np.arange(len(x_train))"
    )
    if config.train_subset is not None:
        load += (
            f"\n# the first {config.train_subset} images of a fixed shuffle, in their order\n"
            f"indices = np.sort(np.random.default_rng(SEED).permutation(indices)"
            f"[:{config.train_subset}])"
        )
    return {"imports": "from bpnet.datasets import load_dataset", "load": load}


def _bpnet(config: TrainingConfig, parts: dict) -> str:
    layers = ",\n    ".join(
        f"nn.{name}({args}, generator=rng_init)" if name == "Linear" else f"nn.{name}({args})"
        for name, args in parts["model"]
    )
    schedule = f"scheduler = optim.{parts['schedule']}\n" if parts["schedule"] else ""
    step_schedule = "    scheduler.step()  # per epoch\n" if parts["schedule"] else ""
    return (
        HEADER.format(
            title=f"bpnet {config.task}", what="train with bpnet", settings=parts["settings"]
        )
        + f"""
import numpy as np

from bpnet import nn, optim
from bpnet.data import DataLoader
{parts["data"]["imports"]}

SEED, EPOCHS, BATCH_SIZE = {config.seed}, {config.epochs}, {config.batch_size}
# one generator per purpose, as the dashboard's jobs do: weights, batch order (and samples)
rng_init, rng_shuffle, _ = np.random.default_rng(SEED).spawn(3)

{parts["data"]["load"]}

model = nn.Sequential(
    {layers},
)
criterion = nn.{parts["criterion"]}
optimizer = optim.{parts["optimizer"]}
{schedule}loader = DataLoader(indices, batch_size=BATCH_SIZE, shuffle=True, generator=rng_shuffle)

for epoch in range(1, EPOCHS + 1):
    total, seen = 0.0, 0
    lr = optimizer.param_groups[0]["lr"]
    for (batch,) in loader:
        xb, yb = x_train[batch], y_train[batch]
        optimizer.zero_grad()
        loss = criterion(model(xb), yb)  # forward: a Python float
        model.backward(criterion.backward())  # backward: every parameter's .grad
        optimizer.step()
        if epoch == 1 and seen == 0:
            print(f"first step loss {{loss:.9g}}")
        total, seen = total + loss * len(batch), seen + len(batch)
    model.eval()
    val_loss = criterion(model(x_val), y_val)
    model.train()
{step_schedule}    print(f"epoch {{epoch}} train_loss {{total / seen:.9g}} val_loss {{val_loss:.9g}} lr {{lr:.6g}}")
"""
    )


def _torch(config: TrainingConfig, parts: dict) -> str:
    torch_layers = ",\n    ".join(f"nn.{name}({args})" for name, args in parts["model"])
    bpnet_layers = ",\n    ".join(
        f"bnn.{name}({args}, generator=rng_init)" if name == "Linear" else f"bnn.{name}({args})"
        for name, args in parts["model"]
    )
    schedule = (
        f"scheduler = torch.optim.lr_scheduler.{parts['schedule']}\n" if parts["schedule"] else ""
    )
    step_schedule = "    scheduler.step()  # per epoch\n" if parts["schedule"] else ""
    target = (
        "torch.from_numpy(y_train).long()"
        if config.task == "mnist"
        else "torch.from_numpy(y_train)"
    )
    val_target = (
        "torch.from_numpy(y_val).long()" if config.task == "mnist" else "torch.from_numpy(y_val)"
    )
    return (
        HEADER.format(
            title=f"PyTorch twin of bpnet {config.task}",
            what="the same data, initial weights and batches, trained by torch",
            settings=parts["settings"],
        )
        + f"""
import numpy as np
import torch
from torch import nn

from bpnet import nn as bnn
from bpnet.data import DataLoader
{parts["data"]["imports"]}

SEED, EPOCHS, BATCH_SIZE = {config.seed}, {config.epochs}, {config.batch_size}
rng_init, rng_shuffle, _ = np.random.default_rng(SEED).spawn(3)

{parts["data"]["load"]}
inputs, targets = torch.from_numpy(x_train), {target}
val_inputs, val_targets = torch.from_numpy(x_val), {val_target}

model = nn.Sequential(
    {torch_layers},
)
# the same initial weights as the bpnet script: bpnet draws them from the same seed
reference = bnn.Sequential(
    {bpnet_layers},
)
model.load_state_dict({{k: torch.from_numpy(v) for k, v in reference.state_dict().items()}})
criterion = nn.{parts["criterion"]}
optimizer = torch.optim.{parts["optimizer"]}
{schedule}# the same batch order as the bpnet script: bpnet's DataLoader shuffles the indices
loader = DataLoader(indices, batch_size=BATCH_SIZE, shuffle=True, generator=rng_shuffle)

for epoch in range(1, EPOCHS + 1):
    total, seen = 0.0, 0
    lr = optimizer.param_groups[0]["lr"]
    for (batch,) in loader:
        index = torch.from_numpy(batch)
        optimizer.zero_grad()
        loss = criterion(model(inputs[index]), targets[index])
        loss.backward()
        optimizer.step()
        if epoch == 1 and seen == 0:
            print(f"first step loss {{loss.item():.9g}}")
        total, seen = total + loss.item() * len(batch), seen + len(batch)
    with torch.no_grad():
        val_loss = criterion(model(val_inputs), val_targets).item()
{step_schedule}    print(f"epoch {{epoch}} train_loss {{total / seen:.9g}} val_loss {{val_loss:.9g}} lr {{lr:.6g}}")
"""
    )
