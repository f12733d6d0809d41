"""Digit classification (MNIST or Fashion-MNIST) with cross-entropy, by a perceptron or
a LeNet-style convolutional network.

Validation runs on the 10,000 test images; every epoch carries the confusion matrix and
the surest mistakes, sampled epochs ten images with the network's guesses, for the page.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal

import numpy as np
from pydantic import Field

from ... import nn
from ...data import DataLoader
from ...datasets import CLASS_NAMES, DATASETS, available_datasets, load_dataset
from ...errors import ConfigError
from .. import budget, mnist_report
from ..config import Hidden, LearningRate, TrainingConfig
from ..networks import build_cnn
from ..registry import (
    ACTIVATIONS,
    ActivationName,
    ArchitectureName,
    OptimizerName,
    ScheduleName,
    literal,
)
from ..units import first_layer_images, first_weight
from .base import Task, TaskSpec, as_list, encode_map, forward_in_chunks

# convolution channels are capped lower than units: each costs a full image per sample
Channels = Annotated[list[Annotated[int, Field(ge=1, le=32)]], Field(min_length=2, max_length=2)]


class MnistConfig(TrainingConfig):
    """Classify handwritten digits (or Fashion-MNIST clothes)."""

    task: Literal["mnist"] = "mnist"
    dataset: literal(DATASETS) = Field("mnist", description="the image set")
    train_subset: Annotated[int, Field(ge=100, le=60_000)] | None = Field(
        None, description="train on the first N images of a fixed shuffle (none: all)"
    )
    sample_every: Annotated[int, Field(ge=1, le=1000)] = Field(
        1, description="draw 10 validation images every N epochs"
    )
    architecture: ArchitectureName = Field(
        "mlp", description="mlp: Linear layers of the hidden sizes; cnn: LeNet-style convolutions"
    )
    channels: Channels = Field(
        [8, 16], description="cnn only: filters in its first and second convolution, 1-32 each"
    )
    hidden: Hidden = [256, 128]  # the mlp's; the cnn's dense layer has 120 units
    activation: ActivationName = "relu"
    optimizer: OptimizerName = "nesterov"
    lr: LearningRate = 0.05
    # annealing to 0 over the run lands the last epochs at >= 98% instead of hovering near it
    lr_schedule: ScheduleName = "cosine"
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 10

    def check(self) -> None:
        if not available_datasets().get(self.dataset, False):
            raise ConfigError(
                "dataset",
                f"{self.dataset} is not installed on this server; an administrator can add it "
                f"with: {DATASETS[self.dataset].source}",
            )


UNIT_IMAGES = 16  # first-layer units drawn as 28×28 weight images


class MnistTask(Task):
    """Digit classification with cross-entropy; validation on the 10,000 test images."""

    reports_progress = True
    samples_per_draw = 10

    def __init__(self, config: MnistConfig):
        super().__init__(config)
        # shared, read-only arrays: every job in the process uses the same copy
        self.x_train, self.y_train = load_dataset(config.dataset, "train")
        self.x_val, self.y_val = load_dataset(config.dataset, "test")
        self.class_names = CLASS_NAMES[config.dataset]
        # a cnn sees (N, 1, 28, 28) images: reshaped views of the same rows
        side = math.isqrt(self.x_train.shape[1])
        self.input_shape = (1, side, side) if config.architecture == "cnn" else (side * side,)
        indices = np.arange(len(self.x_train))
        if config.train_subset is not None:
            indices = np.random.default_rng(config.seed).permutation(indices)
            indices = np.sort(indices[: config.train_subset])
        self.indices = indices
        self._loader = DataLoader(
            indices, batch_size=config.batch_size, shuffle=True, generator=self.rng_shuffle
        )
        self.criterion = nn.CrossEntropyLoss()
        # a convolution unfolds each image 25-fold: its evaluation chunks are sized by the
        # budget's trace of the network (an mlp's by its parameters: None)
        self.eval_rows = budget.cost(config).eval_rows if config.architecture == "cnn" else None

    @property
    def chance_accuracy(self) -> float:
        """The accuracy of guessing: what a network that learnt nothing scores."""
        return 1 / len(self.class_names)

    def model_sizes(self) -> list[int]:
        return [self.x_train.shape[1], *self.config.hidden, len(self.class_names)]

    def build_model(self, generator: np.random.Generator | None = None) -> nn.Sequential:
        if self.config.architecture == "mlp":
            model = super().build_model(generator)
        else:
            activation = ACTIVATIONS[self.config.activation]
            classes = len(self.class_names)
            model = build_cnn(self.config.channels, activation, classes, generator or self.rng_init)
        self._initial_first = first_weight(model).copy()  # to find the units that moved most
        return model

    def units(self, model):
        images = first_layer_images(model, self._initial_first, side=28, count=UNIT_IMAGES)
        if not images:
            return {}
        scale = images["scale"]  # one symmetric scale: white is 0 in every image
        maps = [encode_map(image, -scale, scale) for image in images["images"]]
        return {"first_layer": {**images, "images": maps}}

    def _shaped(self, x: np.ndarray) -> np.ndarray:
        return x.reshape(len(x), *self.input_shape)

    def batches(self):
        for (batch,) in self._loader:
            # gather one batch from the shared arrays; the arrays themselves are never copied
            yield self._shaped(np.take(self.x_train, batch, axis=0)), np.take(self.y_train, batch)

    def num_batches(self) -> int:
        return len(self._loader)

    def dataset_payload(self) -> dict:
        return {
            **super().dataset_payload(),
            "dataset": self.config.dataset,
            "classes": list(self.class_names),
            "train_size": len(self.indices),
            "val_size": len(self.x_val),
        }

    def evaluate(self, model, epoch):
        logits = forward_in_chunks(
            model, self._shaped(self.x_val), self.between_chunks, self.eval_rows
        )
        val_loss = self.criterion(logits, self.y_val)
        probs = nn.Softmax(dim=1)(logits)
        predictions = probs.argmax(axis=1)
        result = {
            "val_loss": val_loss,
            "val_accuracy": float((predictions == self.y_val).mean()),
            "confusion": mnist_report.confusion(self.y_val, predictions, len(self.class_names)),
            "mistakes": mnist_report.worst_mistakes(probs, self.y_val),
        }
        filters = mnist_report.first_filters(model)
        if filters is not None:
            result["filters"] = filters
        if (epoch - 1) % self.config.sample_every == 0 or epoch == self.config.epochs:
            result["samples"] = self._samples(probs, predictions)
        return result

    def predict(self, model: nn.Module, pixels: np.ndarray) -> np.ndarray:
        """Class probabilities for images. Shape: pixels (N, 784) in 0..1 -> (N, classes)."""
        logits = model(self._shaped(np.asarray(pixels, dtype=np.float32)))
        return nn.Softmax(dim=1)(logits)

    def architecture(self) -> dict:
        if self.config.architecture == "mlp":
            return super().architecture()
        config = self.config
        return {"name": "cnn", "channels": list(config.channels), "activation": config.activation}

    def describe(self) -> dict:
        return {
            "architecture": self.architecture(),
            "inputs": {"mean": [0.0], "std": [1.0]},  # pixels 0..1 go in as they are
            "input_shape": list(self.input_shape),
            "output": "probabilities",
            "classes": list(self.class_names),
        }

    def _samples(self, probs: np.ndarray, predictions: np.ndarray) -> list[dict]:
        chosen = self.rng_samples.choice(len(self.x_val), self.samples_per_draw, replace=False)
        pixels = np.rint(self.x_val[chosen] * 255).astype(np.uint8)
        return [
            {
                "index": int(i),
                "pixels": pixels[k].reshape(-1).tolist(),
                "label": int(self.y_val[i]),
                "pred": int(predictions[i]),
                "probs": as_list(probs[i], 4),
            }
            for k, i in enumerate(chosen)
        ]


MNIST = TaskSpec(
    "mnist", "MNIST",
    "classify handwritten digits and watch accuracy climb, epoch by epoch, and which digits "
    "it gets wrong",
    MnistConfig, MnistTask,
)  # fmt: skip
