"""A training job: one config, one network, one loop that reports what it does.

``TrainingJob(config).run(emit)`` trains and calls ``emit(event)`` with plain dicts
(``{"event": "epoch", …}``; see docs/protocol.md). Another thread may call ``pause``,
``resume``, ``stop`` and ``update`` at any time; they take effect between two steps.
Nothing escapes ``run``: an error becomes a final ``failed`` status with its message.
"""

from __future__ import annotations

import math
import threading
import time
import uuid
from collections.abc import Callable

import numpy as np

from .. import optim
from ..errors import ConfigError
from .config import Config, LiveUpdate, parse_update
from .tasks import build_optimizer, build_task

Emit = Callable[[dict], object]

PROGRESS_INTERVAL = 0.25  # seconds between within-epoch progress events
GRAD_NORM_SAMPLES = 32  # batches per epoch whose gradient norms are measured


class Diverged(Exception):
    """The loss stopped being a finite number."""


class TrainingJob:
    """Train one network on one task, reporting events through ``emit``.

    Attributes:
        id: a short unique id, stamped on every event as ``job``.
        config: the validated config.
        state: ``created``, then ``running`` / ``paused``, ending in ``finished``,
            ``stopped`` or ``failed``.
        message: the text of the last status.
        model: the network, once built (read it after ``run`` to save the weights).
    """

    def __init__(self, config: Config, job_id: str | None = None):
        self.id = job_id or uuid.uuid4().hex[:12]
        self.config = config
        self.state = "created"
        self.message = ""
        self.model = None
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._lock = threading.Lock()
        self._weights_lock = threading.Lock()  # held while a step changes the weights
        self._pending: LiveUpdate | None = None
        self.lr = config.lr
        self.momentum = config.momentum_value

    # --- control, from any thread ------------------------------------------------
    def pause(self) -> None:
        self._resume.clear()

    def resume(self) -> None:
        self._resume.set()

    def stop(self) -> None:
        """Ask the job to end after the current step; ``run`` then reports ``stopped``."""
        self._stop.set()
        self._resume.set()

    def update(self, changes: dict) -> dict:
        """Change ``lr`` and/or ``momentum`` from the next step on; returns the new values.

        Raises:
            ConfigError: a field is unknown or out of range, or momentum does not apply.
        """
        update = parse_update(changes)
        if update.momentum is not None and self.config.optimizer in ("adam", "adamw"):
            raise ConfigError(
                "momentum",
                f"momentum does not apply to {self.config.optimizer}; "
                f"it applies to sgd, momentum, nesterov and rmsprop",
            )
        with self._lock:
            self._pending = update
            self.lr = update.lr if update.lr is not None else self.lr
            if update.momentum is not None:
                self.momentum = update.momentum
        return {"lr": self.lr, "momentum": self.momentum}

    def weights(self) -> dict[str, np.ndarray] | None:
        """A copy of the network's state dict taken between two steps (None before the
        network exists); safe to call while the job trains."""
        if self.model is None:
            return None
        with self._weights_lock:
            return {name: array.copy() for name, array in self.model.state_dict().items()}

    @property
    def done(self) -> bool:
        return self.state in ("finished", "stopped", "failed")

    # --- the loop ----------------------------------------------------------------
    def run(self, emit: Emit) -> str:
        """Train to the end (or until stopped); returns the final state."""
        self._emit = emit
        try:
            self._status("running", "building the data and the network")
            # overflow is how divergence shows up; the finite-loss checks report it
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                self._train()
        except Diverged as exc:
            self._status("failed", str(exc))
        except Exception as exc:  # a job must never die silently
            self._status("failed", f"{type(exc).__name__}: {exc}")
        return self.state

    def _train(self) -> None:
        config = self.config
        task = build_task(config)
        model = self.model = task.build_model()
        optimizer = self._optimizer = build_optimizer(config, model.parameters())
        schedule = None
        if config.lr_schedule == "cosine":
            schedule = optim.CosineAnnealingLR(optimizer, T_max=config.epochs)
        linears = [m for m in model.modules() if m.parameters() and hasattr(m, "weight")]
        self._send("dataset", {**task.dataset_payload(), "layers": _layer_names(len(linears))})
        self._status("running", "training")

        batches = task.num_batches()
        norm_stride = max(1, batches // GRAD_NORM_SAMPLES)
        min_gap = 1.0 / task.max_epoch_rate
        self._clock = _Clock()
        last_sent = -math.inf
        for epoch in range(1, config.epochs + 1):
            loss_sum, seen, norms, measured = 0.0, 0, np.zeros(len(linears)), 0
            epoch_start, last_progress = self._clock.now(), self._clock.now()
            for index, (xb, yb) in enumerate(task.batches()):
                if not self._checkpoint():
                    return self._status("stopped", f"stopped at epoch {epoch}")
                optimizer.zero_grad()
                loss = task.criterion(model(xb), yb)
                if not math.isfinite(loss):
                    raise Diverged(
                        f"loss became {loss} at epoch {epoch} — try a smaller learning rate"
                    )
                model.backward(task.criterion.backward(), input_grad=False)
                if index % norm_stride == 0:
                    norms += [_norm(m.weight.grad) for m in linears]
                    measured += 1
                with self._weights_lock:
                    optimizer.step()
                loss_sum += loss * len(xb)
                seen += len(xb)
                now = self._clock.now()
                if task.reports_progress and now - last_progress >= PROGRESS_INTERVAL:
                    last_progress = now
                    self._send("progress", {
                        "epoch": epoch, "batch": index + 1, "batches": batches,
                        "train_loss": loss_sum / seen,
                        "examples_per_s": seen / max(now - epoch_start, 1e-9),
                        "elapsed": now,
                    })  # fmt: skip
            now = self._clock.now()
            if epoch == config.epochs or now - last_sent >= min_gap:
                last_sent = now
                model.eval()
                picture = task.evaluate(model, epoch)
                model.train()
                if not math.isfinite(picture["val_loss"]):
                    raise Diverged(
                        f"validation loss became {picture['val_loss']} at epoch {epoch} — "
                        f"try a smaller learning rate"
                    )
                self._send("epoch", {
                    "epoch": epoch, "epochs": config.epochs,
                    "train_loss": loss_sum / seen, "lr": optimizer.param_groups[0]["lr"],
                    "elapsed": now,
                    "grad_norms": (norms / max(measured, 1)).tolist(),
                    "examples_per_s": seen / max(now - epoch_start, 1e-9),
                    **picture,
                })  # fmt: skip
            if schedule is not None:
                schedule.step()  # per epoch, after the epoch's report (which shows the lr it used)
        self._status("finished", f"finished {config.epochs} epochs")

    def _checkpoint(self) -> bool:
        """Between steps: honour pause, stop and live updates. False means stop now."""
        if not self._resume.is_set():
            self._status("paused", "paused")
            self._clock.pause()
            while not self._resume.wait(timeout=0.5):
                pass
            self._clock.resume()
            if not self._stop.is_set():
                self._status("running", "training")
        if self._stop.is_set():
            return False
        if self._pending is not None:
            with self._lock:
                update, self._pending = self._pending, None
            for group in self._optimizer.param_groups:
                if update.lr is not None:
                    group["lr"] = update.lr
                if update.momentum is not None and "momentum" in group:
                    group["momentum"] = update.momentum
        return True

    # --- events ------------------------------------------------------------------
    def _send(self, name: str, payload: dict) -> None:
        self._emit({"event": name, "job": self.id, "time": time.time(), **payload})

    def _status(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self._send("status", {"state": state, "message": message})


class _Clock:
    """Seconds since the job started, not counting pauses."""

    def __init__(self):
        self._start = time.perf_counter()
        self._paused_at: float | None = None

    def now(self) -> float:
        return time.perf_counter() - self._start

    def pause(self) -> None:
        self._paused_at = time.perf_counter()

    def resume(self) -> None:
        if self._paused_at is not None:
            self._start += time.perf_counter() - self._paused_at
            self._paused_at = None


def _norm(a: np.ndarray) -> float:
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))  # BLAS dot: cheaper than np.linalg.norm


def _layer_names(count: int) -> list[str]:
    return [f"Linear {i + 1}" for i in range(count)]
