"""The two generated scripts' text: the bpnet one and its PyTorch twin, filled in from the
parts ``codegen.scripts`` took from the objects a job builds (layers, loss, penalty,
optimizer, schedule, data lines).

Both print ``first step loss …`` and one ``epoch N train_loss … val_loss … lr …`` line per
epoch, which is what the tests compare with the job.
"""

from __future__ import annotations

from ..config import TrainingConfig

HEADER = '''"""{title}: {what}.

Written by the bpnet dashboard for these settings:
    {settings}
"""
'''

# each penalty of ``PENALTIES`` as a torch expression of one weight tensor ``w``
TORCH_PENALTIES = {"l1": "w.abs().sum()", "l2": "0.5 * (w * w).sum()"}

TWIN_WHAT = "the same data, initial weights and batches, trained by torch"
PRINT_EPOCH = (
    '    print(f"epoch {epoch} train_loss {total / seen:.9g} val_loss {val_loss:.9g} '
    'lr {lr:.6g}")\n'
)


def _layers(parts: dict, prefix: str, seeded: bool) -> str:
    """``prefix.Name(args)`` per layer, with ``generator=rng_init`` where bpnet draws weights."""
    return ",\n    ".join(
        f"{prefix}.{name}({args}, generator=rng_init)" if draws and seeded
        else f"{prefix}.{name}({args})"
        for name, args, draws in parts["model"]
    )  # fmt: skip


def _head(parts: dict, title: str, what: str) -> str:
    return HEADER.format(title=title, what=what, settings=parts["settings"])


def _bpnet_criterion(parts: dict) -> tuple[str, str]:
    """(imports, the line(s) that make ``criterion``)."""
    if parts["penalty"] is None:
        return "", f"criterion = nn.{parts['criterion']}\n"
    kind, rate = parts["penalty"]["kind"], parts["penalty"]["rate"]
    return "from bpnet.engine.tasks.penalty import Penalized\n", (
        "# the loss plus a penalty on the weights (biases are free): it shows in the loss\n"
        "weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]\n"
        f"criterion = Penalized(nn.{parts['criterion']}, weights, {kind!r}, {rate!r})\n"
    )


def _torch_criterion(parts: dict) -> str:
    if parts["penalty"] is None:
        return f"criterion = nn.{parts['criterion']}\n"
    kind, rate = parts["penalty"]["kind"], parts["penalty"]["rate"]
    if kind not in TORCH_PENALTIES:  # a new penalty needs its torch expression here
        raise ValueError(f"no torch expression is written for the penalty {kind!r}")
    return (
        "weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]\n"
        f"data_loss = nn.{parts['criterion']}\n\n\n"
        "def criterion(output, target):\n"
        f'    """The data loss plus the {kind} penalty on the weights (biases are free)."""\n'
        f"    return data_loss(output, target) + {rate!r} * sum({TORCH_PENALTIES[kind]} "
        "for w in weights)\n\n\n"
    )


def _bpnet_val(rows: int | None) -> str:
    if rows is None:
        return "    val_loss = criterion(model(x_val), y_val)\n"
    return (
        f"    # {rows} images at a time: a convolution unfolds each image many times over\n"
        f"    logits = [model(x_val[i : i + {rows}]) for i in range(0, len(x_val), {rows})]\n"
        "    val_loss = criterion(np.concatenate(logits), y_val)\n"
    )


def _torch_val(rows: int | None) -> str:
    if rows is None:
        return "        val_loss = criterion(model(val_inputs), val_targets).item()\n"
    return (
        f"        logits = [model(val_inputs[i : i + {rows}]) "
        f"for i in range(0, len(val_inputs), {rows})]\n"
        "        val_loss = criterion(torch.cat(logits), val_targets).item()\n"
    )


def bpnet_script(config: TrainingConfig, parts: dict) -> str:
    schedule = f"scheduler = optim.{parts['schedule']}\n" if parts["schedule"] else ""
    step_schedule = "    scheduler.step()  # per epoch\n" if parts["schedule"] else ""
    imports, criterion = _bpnet_criterion(parts)
    return (
        _head(parts, f"bpnet {config.task}", "train with bpnet")
        + f"""
import numpy as np

from bpnet import nn, optim
from bpnet.data import DataLoader
{parts["data"]["imports"]}
{imports}
SEED, EPOCHS, BATCH_SIZE = {config.seed}, {config.epochs}, {config.batch_size}
# one generator per purpose, as the dashboard's jobs do: weights, batch order (and samples)
rng_init, rng_shuffle, _ = np.random.default_rng(SEED).spawn(3)

{parts["data"]["load"]}

model = nn.Sequential(
    {_layers(parts, "nn", seeded=True)},
)
{criterion}optimizer = optim.{parts["optimizer"]}
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
{_bpnet_val(parts["data"]["eval_rows"])}    model.train()
{step_schedule}{PRINT_EPOCH}"""
    )


def torch_script(config: TrainingConfig, parts: dict) -> str:
    schedule = (
        f"scheduler = torch.optim.lr_scheduler.{parts['schedule']}\n" if parts["schedule"] else ""
    )
    step_schedule = "    scheduler.step()  # per epoch\n" if parts["schedule"] else ""
    cast = ".long()" if parts["classes"] else ""  # torch's cross-entropy wants int64 classes
    return (
        _head(parts, f"PyTorch twin of bpnet {config.task}", TWIN_WHAT)
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
# copies: torch wants arrays it may write to, and the shared image arrays are read-only
inputs, targets = torch.tensor(x_train), torch.tensor(y_train){cast}
val_inputs, val_targets = torch.tensor(x_val), torch.tensor(y_val){cast}

model = nn.Sequential(
    {_layers(parts, "nn", seeded=False)},
)
# the same initial weights as the bpnet script: bpnet draws them from the same seed
reference = bnn.Sequential(
    {_layers(parts, "bnn", seeded=True)},
)
model.load_state_dict({{k: torch.from_numpy(v) for k, v in reference.state_dict().items()}})
{_torch_criterion(parts)}optimizer = torch.optim.{parts["optimizer"]}
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
{_torch_val(parts["data"]["eval_rows"])}{step_schedule}{PRINT_EPOCH}"""
    )
