"""Weights that describe themselves: a network saved with how to rebuild and use it.

``save_model`` writes the state dict (PyTorch's keys) plus, under one reserved key, a JSON
description: the layers, the task, and how raw inputs are scaled before the network and
its outputs after. ``load_model`` rebuilds the network from that and returns an ``info``
whose ``predict`` applies the same scaling, so a saved curve network gives the curve back.
"""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.lib import format as npy_format

from . import nn
from .nn.module import Module
from .serialization import METADATA_KEY, load, save

FORMAT = "bpnet-model"
VERSION = 1
MAX_DESCRIPTION_BYTES = 1 << 20  # a description is a few KB; refuse to read a huge one

# layer type -> the constructor arguments read back from its attributes
LAYERS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "Conv2d": ("in_channels", "out_channels", "kernel_size", "stride", "padding", "bias"),
    "MaxPool2d": ("kernel_size", "stride"),
    "AvgPool2d": ("kernel_size", "stride"),
    "Flatten": ("start_dim", "end_dim"),
    "ReLU": (),
    "Tanh": (),
    "Sigmoid": (),
    "LeakyReLU": ("negative_slope",),
    "Softmax": ("dim",),
    "Dropout": ("p",),
}


def layer_specs(model: nn.Sequential) -> list[dict]:
    """``[{"type": "Linear", "in_features": 1, "out_features": 64, "bias": True}, …]``,
    one entry per layer of ``model``, enough to build it again with ``build``."""
    if not isinstance(model, nn.Sequential):
        raise TypeError(f"only a Sequential can be described, got {type(model).__name__}")
    specs = []
    for layer in model:
        kind = type(layer).__name__
        if kind not in LAYERS:
            raise TypeError(f"{kind} cannot be described; describable layers: {', '.join(LAYERS)}")
        spec: dict[str, Any] = {"type": kind}
        for name in LAYERS[kind]:
            value = getattr(layer, name)
            if name == "bias":
                value = value is not None
            spec[name] = list(value) if isinstance(value, tuple) else value
        specs.append(spec)
    return specs


def build(specs: list[dict]) -> nn.Sequential:
    """The Sequential that ``specs`` (from ``layer_specs``) describes, with fresh weights."""
    layers = []
    for position, spec in enumerate(specs):
        kind = spec.get("type") if isinstance(spec, dict) else None
        if kind not in LAYERS:
            raise ValueError(
                f"layer {position}: unknown layer type {kind!r}; known: {', '.join(LAYERS)}"
            )
        args = {
            name: tuple(value) if isinstance(value, list) else value
            for name, value in spec.items()
            if name in LAYERS[kind]
        }
        layers.append(getattr(nn, kind)(**args))
    return nn.Sequential(*layers)


def describe(model: nn.Sequential, task: str, **details: Any) -> dict:
    """The JSON-ready description ``save_model`` stores: format, version, task, layers,
    and ``details`` (``inputs``, ``input_shape``, ``output``, ``targets`` / ``classes``,
    ``architecture``, ``config``: see ``ModelInfo``)."""
    return {
        "format": FORMAT,
        "version": VERSION,
        "task": task,
        "layers": layer_specs(model),
        **details,
    }


def save_model(model: Module | dict, path, description: dict) -> Path:
    """Write the weights (a Module or its state dict) and ``description`` (from
    ``describe``) to ``path``, atomically, like ``bpnet.save``; returns the path."""
    return save(model, path, metadata=json.dumps(description))


@dataclass
class ModelInfo:
    """What a weights file says about its network, and ``predict`` to use it.

    Attributes:
        task: the task's name, e.g. ``"curve"``, ``"mnist"``.
        architecture: e.g. ``{"name": "mlp", "hidden": [64, 64], "activation": "tanh"}``.
        inputs: ``{"mean": [...], "std": [...]}``: the network sees ``(x - mean) / std``.
        targets: the same for outputs (regression): answers are ``y * std + mean``.
        input_shape: one sample's shape as the network takes it, e.g. ``[1]`` or ``[1, 28, 28]``.
        output: ``"values"`` (regression) or ``"probabilities"`` (classification).
        classes: class names, for classification.
        features: for the classify task, the inputs the network takes, computed from the
            points' x and y (``bpnet.datasets.planar.features``); predict takes those columns.
        config: the training config the job ran with.
        model: the rebuilt network, with the saved weights, in eval mode.
    """

    task: str
    architecture: dict
    inputs: dict
    input_shape: list[int]
    output: str
    model: nn.Sequential = field(repr=False)
    targets: dict | None = None
    classes: list[str] | None = None
    features: list[str] | None = None
    config: dict = field(default_factory=dict, repr=False)

    def predict(self, x) -> np.ndarray:
        """The network's answer in the user's units.

        Shape: x (N, features) — for a curve (N,) also works; for MNIST (N, 784) pixels in
        0..1 — -> (N, outputs) values, or (N, classes) probabilities for classification.
        """
        x = np.asarray(x, dtype=np.float64)
        features = int(np.prod(self.input_shape))
        if x.ndim == 1 and features == 1:
            x = x[:, None]
        if x.ndim != 2 or x.shape[1] != features:
            raise ValueError(
                f"predict expects an array of shape (N, {features}), got shape {x.shape}"
            )
        scaled = (x - np.asarray(self.inputs["mean"])) / np.asarray(self.inputs["std"])
        dtype = self.model.parameters()[0].data.dtype
        out = self.model(scaled.astype(dtype).reshape(len(x), *self.input_shape))
        if self.output == "probabilities":
            return nn.Softmax(dim=1)(out)
        return out * np.asarray(self.targets["std"]) + np.asarray(self.targets["mean"])


def load_model(path) -> tuple[nn.Sequential, ModelInfo]:
    """Rebuild the network saved by a job (the CLI's ``--save``, the page's download).

    Returns ``(model, info)``: the network with its weights, in eval mode, and a
    ``ModelInfo`` whose ``predict(x)`` applies the job's input and output scaling.

    Raises:
        ValueError: the file holds weights only (saved by ``bpnet.save``), or a
            description this version cannot read.
    """
    state = load(path)  # checks the file and skips the description
    description = _read_description(Path(path))
    if description.get("format") != FORMAT or description.get("version") != VERSION:
        raise ValueError(
            f"{path}: unknown description format {description.get('format')!r} version "
            f"{description.get('version')!r}; this bpnet reads {FORMAT!r} version {VERSION}"
        )
    model = build(description["layers"])
    model.load_state_dict(state)
    model.eval()
    info = ModelInfo(
        task=description["task"],
        architecture=description.get("architecture", {}),
        inputs=description["inputs"],
        input_shape=description["input_shape"],
        output=description["output"],
        model=model,
        targets=description.get("targets"),
        classes=description.get("classes"),
        features=description.get("features"),
        config=description.get("config", {}),
    )
    return model, info


def _read_description(path: Path) -> dict:
    member = METADATA_KEY + ".npy"
    with zipfile.ZipFile(path) as archive:
        if member not in archive.namelist():
            raise ValueError(
                f"{path} holds weights but no description of the network (it was saved with "
                f"bpnet.save); read it with bpnet.load and load_state_dict into your own model"
            )
        if archive.getinfo(member).file_size > MAX_DESCRIPTION_BYTES:
            raise ValueError(f"{path}: the network's description is too large to be one")
        with archive.open(member) as f:
            text = npy_format.read_array(f, allow_pickle=False)
    return json.loads(str(text))
