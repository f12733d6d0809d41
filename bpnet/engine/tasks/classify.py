"""Classify 2-D points into two classes, as TensorFlow Playground does, on the server's
numpy network: generated sets (circle, xor, gaussian, spiral) or the user's own points.

Each epoch the page gets the network's probability of class 1 over the square (the
decision boundary), every hidden neuron's activation over the square (first 8 per layer),
and the weights between them. Maps travel as bytes (``encode_map``) so an epoch event
stays small at any grid size.
"""

from __future__ import annotations

from typing import Annotated, Literal

import numpy as np
from pydantic import Field, model_validator

from ... import nn
from ...data import DataLoader
from ...datasets import planar
from ..config import LearningRate, TrainingConfig
from ..registry import ActivationName, literal
from .base import Task, TaskSpec, as_list, encode_map, forward_in_chunks
from .penalty import PENALTIES, Penalized

MAX_POINTS = 2000
SHOWN_NEURONS = 8  # per layer, as the diagram draws them
NEURON_SIDE = 24  # grid side of each neuron's small heatmap
REGULARIZATIONS = ("none", *PENALTIES)
Point = Annotated[list[float], Field(min_length=3, max_length=3)]


class ClassifyConfig(TrainingConfig):
    """Two classes of points on the square [-6, 6]²."""

    task: Literal["classify"] = "classify"
    dataset: literal([*planar.GENERATORS, "points"]) = Field(
        "circle", description="the point set; points: your own, in the points field"
    )
    points: Annotated[list[Point], Field(max_length=MAX_POINTS)] | None = Field(
        None, description="your points as [x, y, label] (dataset points only)"
    )
    n_samples: Annotated[int, Field(ge=10, le=5000)] = Field(500, description="points in all")
    noise: Annotated[float, Field(ge=0, le=0.5)] = Field(
        0.0, description="noise, 0 to 0.5 of the pattern's scale"
    )
    train_ratio: Annotated[int, Field(ge=10, le=90)] = Field(
        50, description="percent of the points used for training"
    )
    features: Annotated[list[literal(planar.FEATURES)], Field(min_length=1)] = Field(
        ["x", "y", "sinx", "siny"], description="the network's inputs, computed from x and y"
    )
    regularization: literal(REGULARIZATIONS) = Field("none", description="penalty on weights")
    reg_rate: Annotated[float, Field(ge=0, le=10)] = Field(0.001, description="regularisation rate")
    grid: Annotated[int, Field(ge=20, le=100)] = Field(50, description="boundary grid side")
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=1024)]], Field(min_length=1, max_length=6)] = [8, 8]  # fmt: skip
    activation: ActivationName = "tanh"
    lr: LearningRate = 0.03
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 10
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 300

    @model_validator(mode="after")
    def _points_fit(self):
        if len(set(self.features)) != len(self.features):
            raise ValueError(f"features: each feature once, got {self.features}")
        if self.dataset != "points":
            if self.points is not None:
                raise ValueError('points: your own points need dataset "points"')
            return self
        if self.points is None or len(self.points) < 2:
            raise ValueError(
                "points: dataset points needs at least 2 points as [x, y, label], "
                "e.g. [[-2, 1, 0], [3, 2.5, 1]]"
            )
        side = planar.HALF_SIDE
        for index, (x, y, label) in enumerate(self.points):
            if label not in (0, 1):
                raise ValueError(f"points: point {index} has label {label:g}; labels are 0 or 1")
            if not (-side <= x <= side and -side <= y <= side):
                raise ValueError(
                    f"points: point {index} at ({x:g}, {y:g}) is outside the square; "
                    f"x and y go from {-side:g} to {side:g}"
                )
        return self


def user_points(points: list[list[float]]) -> tuple[np.ndarray, np.ndarray]:
    """The user's ``[x, y, label]`` triples as points (n, 2) float64 and labels (n,) int64."""
    array = np.asarray(points, dtype=np.float64)
    return array[:, :2], array[:, 2].astype(np.int64)


def train_fraction(config: ClassifyConfig) -> float:
    """The share of the points ``planar.split`` keeps for training (``train_ratio`` is in %)."""
    return config.train_ratio / 100


def classify_data(config: ClassifyConfig) -> tuple[tuple, tuple]:
    """``((train_points, train_labels), (val_points, val_labels))`` for ``config``: the set
    drawn and split with one generator seeded by ``config.seed``, so the same config always
    gives the same points. The page's generated code writes these same calls out."""
    rng = np.random.default_rng(config.seed)
    if config.dataset == "points":
        points, labels = user_points(config.points)
    else:
        points, labels = planar.GENERATORS[config.dataset](config.n_samples, config.noise, rng)
    return planar.split(points, labels, train_fraction(config), rng)


class ClassifyTask(Task):
    """Cross-entropy on two logits, optionally with an L1 or L2 penalty on the weights."""

    max_epoch_rate = 10.0  # each event carries many heatmaps; 10 per second is smooth enough

    def __init__(self, config: ClassifyConfig):
        super().__init__(config)
        self.train, self.val = classify_data(config)
        self.x_train = planar.features(self.train[0], config.features)
        self.x_val = planar.features(self.val[0], config.features)
        self.boundary_inputs = planar.features(planar.grid(config.grid), config.features)
        self.neuron_inputs = planar.features(planar.grid(NEURON_SIDE), config.features)
        self.data_loss = nn.CrossEntropyLoss()
        self.criterion = self.data_loss
        self._loader = DataLoader(
            self.x_train, self.train[1],
            batch_size=config.batch_size, shuffle=True, generator=self.rng_shuffle,
        )  # fmt: skip

    def model_sizes(self) -> list[int]:
        return [len(self.config.features), *self.config.hidden, 2]

    def build_model(self, generator: np.random.Generator | None = None) -> nn.Sequential:
        model = super().build_model(generator)
        if self.config.regularization != "none":
            weights = [m.weight for m in model.modules() if isinstance(m, nn.Linear)]
            self.criterion = Penalized(
                self.data_loss, weights, self.config.regularization, self.config.reg_rate
            )
        return model

    def batches(self):
        return iter(self._loader)

    def num_batches(self) -> int:
        return len(self._loader)

    def dataset_payload(self) -> dict:
        def points(split):
            xy, labels = split
            return {"x": as_list(xy[:, 0], 4), "y": as_list(xy[:, 1], 4), "label": labels.tolist()}

        side = NEURON_SIDE
        return {
            **super().dataset_payload(),
            "half_side": planar.HALF_SIDE,
            "train": points(self.train),
            "val": points(self.val),
            "layer_sizes": self.model_sizes(),
            "neuron_side": side,
            "features": [
                {"name": name, "label": planar.FEATURES[name][0],
                 "map": encode_map(self.neuron_inputs[:, i].reshape(side, side))}
                for i, name in enumerate(self.config.features)
            ],
        }  # fmt: skip

    def evaluate(self, model, epoch):
        def forward(x):  # in chunks, with stop checks: a wide network is slow to evaluate
            return forward_in_chunks(model, x, self.between_chunks)

        val_logits = forward(self.x_val)
        penalty = self.criterion.penalty() if isinstance(self.criterion, Penalized) else 0.0
        g, side = self.config.grid, NEURON_SIDE
        return {
            "val_loss": self.data_loss(val_logits, self.val[1]) + penalty,
            "val_accuracy": _accuracy(val_logits, self.val[1]),
            "train_accuracy": _accuracy(forward(self.x_train), self.train[1]),
            "boundary": encode_map(_probability(forward(self.boundary_inputs)).reshape(g, g), 0, 1),
            "neurons": [
                [encode_map(layer[:, j].reshape(side, side)) for j in range(layer.shape[1])]
                for layer in self._hidden_activations(model)
            ],
            "weights": [
                as_list(m.weight.data[:SHOWN_NEURONS, :SHOWN_NEURONS], 3)
                for m in model.modules() if isinstance(m, nn.Linear)
            ],
        }  # fmt: skip

    def describe(self) -> dict:
        return {
            "architecture": self.architecture(),
            "inputs": {"mean": [0.0], "std": [1.0]},  # the features go in as computed
            "input_shape": [len(self.config.features)],
            "features": list(self.config.features),
            "output": "probabilities",
            "classes": ["0", "1"],
        }

    def _hidden_activations(self, model: nn.Sequential) -> list[np.ndarray]:
        """Each hidden layer's output on the neuron grid, its first neurons only.
        Shape: one (NEURON_SIDE², min(units, 8)) array per hidden layer."""
        outputs, h = [], self.neuron_inputs
        layers = list(model)
        for index, module in enumerate(layers):
            h = module(h)
            after_activation = not isinstance(module, nn.Linear) and index < len(layers) - 1
            if after_activation:
                outputs.append(h[:, :SHOWN_NEURONS])
        return outputs


def _probability(logits: np.ndarray) -> np.ndarray:
    """P(class 1) from two logits: a stable sigmoid of their difference."""
    difference = np.clip(logits[:, 1] - logits[:, 0], -60, 60).astype(np.float64)
    return 1.0 / (1.0 + np.exp(-difference))


def _accuracy(logits: np.ndarray, labels: np.ndarray) -> float:
    return float((logits.argmax(axis=1) == labels).mean())


CLASSIFY = TaskSpec(
    "classify", "Classify",
    "separate two classes of points in the plane — circle, xor, two blobs, a spiral or your "
    "own clicks — and see what every neuron has learned",
    ClassifyConfig, ClassifyTask,
)  # fmt: skip
