"""The three training tasks: the data a job learns from, its network, and its pictures.

A task knows how to draw mini-batches, how to measure the network on held-out data,
and what the page should see: the fitted curve, the fitted surface, or sampled digits
with the network's guesses. The job loop (``job.py``) is the same for all three.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from .. import nn, optim
from ..data import DataLoader
from .config import Config, CurveConfig, MnistConfig, SurfaceConfig, as_dict

ACTIVATIONS = {
    "relu": nn.ReLU,
    "tanh": nn.Tanh,
    "sigmoid": nn.Sigmoid,
    "leaky_relu": nn.LeakyReLU,
}


def build_mlp(sizes: list[int], activation: str, generator: np.random.Generator) -> nn.Sequential:
    """``Linear(sizes[0], sizes[1]), act, …, Linear(sizes[-2], sizes[-1])`` (no final activation)."""
    layers: list[nn.Module] = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [nn.Linear(n_in, n_out, generator=generator), ACTIVATIONS[activation]()]
    return nn.Sequential(*layers[:-1])


def build_optimizer(config: Config, params) -> optim.Optimizer:
    name, lr, wd, momentum = config.optimizer, config.lr, config.weight_decay, config.momentum_value
    if name == "sgd":
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd)
    if name in ("momentum", "nesterov"):
        nesterov = name == "nesterov" and momentum > 0
        return optim.SGD(params, lr=lr, momentum=momentum, weight_decay=wd, nesterov=nesterov)
    if name == "adam":
        return optim.Adam(params, lr=lr, weight_decay=wd)
    if name == "adamw":
        return optim.AdamW(params, lr=lr, weight_decay=wd)
    return optim.RMSprop(params, lr=lr, momentum=momentum, weight_decay=wd)


def as_list(values: np.ndarray, digits: int = 6) -> list:
    """JSON-safe nested lists of short floats (float32 -> float64 would print 17 digits)."""
    return np.round(np.asarray(values, dtype=np.float64), digits).tolist()


class Task:
    """What every task provides to the job loop."""

    max_epoch_rate = 20.0  # epoch events per second at most (the page can't show more)
    reports_progress = False  # within-epoch progress events, for long epochs

    def __init__(self, config: Config):
        self.config = config
        self.rng_init, self.rng_shuffle, self.rng_samples = np.random.default_rng(
            config.seed
        ).spawn(3)

    def model_sizes(self) -> list[int]:
        raise NotImplementedError

    def build_model(self) -> nn.Sequential:
        sizes = self.model_sizes()
        return build_mlp(sizes, self.config.activation, self.rng_init)

    def batches(self) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        raise NotImplementedError

    def num_batches(self) -> int:
        raise NotImplementedError

    def dataset_payload(self) -> dict:
        return {"task": self.config.task, "config": as_dict(self.config)}

    def evaluate(self, model: nn.Module, epoch: int) -> dict:
        """Validation loss and the task's picture, for an ``epoch`` event."""
        raise NotImplementedError


class FunctionTask(Task):
    """Regression on a typed formula (curve or surface): MSE on z-scored targets."""

    def __init__(self, config: CurveConfig | SurfaceConfig):
        super().__init__(config)
        from ..datasets import functions

        common = dict(
            n_train=config.n_train, n_val=config.n_val, noise=config.noise,
            seed=config.seed, grid=config.grid,
        )  # fmt: skip
        if config.task == "curve":
            self.data = functions.curve(config.expression, x_range=tuple(config.x_range), **common)
        else:
            self.data = functions.surface(
                config.expression,
                x_range=tuple(config.x_range),
                y_range=tuple(config.y_range),
                **common,
            )
        self.criterion = nn.MSELoss()
        self._loader = DataLoader(
            self.data.x_train, self.data.y_train,
            batch_size=config.batch_size, shuffle=True, generator=self.rng_shuffle,
        )  # fmt: skip

    def model_sizes(self) -> list[int]:
        return [self.data.x_train.shape[1], *self.config.hidden, 1]

    def batches(self):
        return iter(self._loader)

    def num_batches(self) -> int:
        return len(self._loader)

    def _predict_grid(self, model: nn.Module) -> np.ndarray:
        return self.data.denormalize_targets(model(self.data.grid_inputs))[:, 0]

    def _val_loss(self, model: nn.Module) -> float:
        return self.criterion(model(self.data.x_val), self.data.y_val)


class CurveTask(FunctionTask):
    def dataset_payload(self) -> dict:
        d = self.data
        return {
            **super().dataset_payload(),
            "x": as_list(d.grid_x),
            "y_true": as_list(d.grid_true),
            "train": {"x": as_list(d.train_points[0][:, 0]), "y": as_list(d.train_points[1])},
            "val": {"x": as_list(d.val_points[0][:, 0]), "y": as_list(d.val_points[1])},
        }

    def evaluate(self, model, epoch):
        return {
            "val_loss": self._val_loss(model),
            "x": as_list(self.data.grid_x),
            "y_pred": as_list(self._predict_grid(model)),
        }


class SurfaceTask(FunctionTask):
    max_epoch_rate = 5.0  # a 3-D redraw is heavy for the browser

    def dataset_payload(self) -> dict:
        d = self.data

        def points(inputs_targets):
            inputs, targets = inputs_targets
            return {"x": as_list(inputs[:, 0]), "y": as_list(inputs[:, 1]), "z": as_list(targets)}

        return {
            **super().dataset_payload(),
            "x": as_list(d.grid_x),
            "y": as_list(d.grid_y),
            "z_true": as_list(d.grid_true),
            "train": points(d.train_points),
            "val": points(d.val_points),
        }

    def evaluate(self, model, epoch):
        side = len(self.data.grid_x)
        z = self._predict_grid(model).reshape(len(self.data.grid_y), side)
        return {"val_loss": self._val_loss(model), "z_pred": as_list(z)}


class MnistTask(Task):
    """Digit classification with cross-entropy; validation on the 10,000 test images."""

    reports_progress = True
    samples_per_draw = 10

    def __init__(self, config: MnistConfig):
        super().__init__(config)
        from ..datasets import CLASS_NAMES, load_dataset

        # shared, read-only arrays: every job in the process uses the same copy
        self.x_train, self.y_train = load_dataset(config.dataset, "train")
        self.x_val, self.y_val = load_dataset(config.dataset, "test")
        self.class_names = CLASS_NAMES[config.dataset]
        indices = np.arange(len(self.x_train))
        if config.train_subset is not None:
            indices = np.random.default_rng(config.seed).permutation(indices)
            indices = np.sort(indices[: config.train_subset])
        self.indices = indices
        self._loader = DataLoader(
            indices, batch_size=config.batch_size, shuffle=True, generator=self.rng_shuffle
        )
        self.criterion = nn.CrossEntropyLoss()

    def model_sizes(self) -> list[int]:
        return [self.x_train.shape[1], *self.config.hidden, len(self.class_names)]

    def batches(self):
        for (batch,) in self._loader:
            # gather one batch from the shared arrays; the arrays themselves are never copied
            yield np.take(self.x_train, batch, axis=0), np.take(self.y_train, batch)

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
        logits = _forward_in_chunks(model, self.x_val)
        val_loss = self.criterion(logits, self.y_val)
        probs = nn.Softmax(dim=1)(logits)
        predictions = probs.argmax(axis=1)
        result = {
            "val_loss": val_loss,
            "val_accuracy": float((predictions == self.y_val).mean()),
        }
        if (epoch - 1) % self.config.sample_every == 0 or epoch == self.config.epochs:
            result["samples"] = self._samples(probs, predictions)
        return result

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


def _forward_in_chunks(model: nn.Module, x: np.ndarray, chunk: int = 2048) -> np.ndarray:
    """Evaluate in chunks so activations of 10,000 images never sit in memory at once."""
    return np.concatenate([model(x[i : i + chunk]) for i in range(0, len(x), chunk)])


def build_task(config: Config) -> Task:
    kind = {"curve": CurveTask, "surface": SurfaceTask, "mnist": MnistTask}[config.task]
    return kind(config)
