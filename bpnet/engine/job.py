"""A training job: one config, one network, one loop that reports what it does.

``TrainingJob(config).run(emit)`` trains and calls ``emit(event)`` with plain dicts
(``{"event": "epoch", …}``; see docs/protocol.md). Another thread may call ``pause``,
``resume``, ``step``, ``stop`` and ``update`` at any time; they take effect between two
steps. While paused, ``inspect`` and ``gradcheck`` look inside the next batch's backprop.
Nothing escapes ``run``: an error becomes a final ``failed`` status with its message.
"""

from __future__ import annotations

import contextlib
import math
import threading
import time
import uuid
from collections.abc import Callable

import numpy as np

from .. import model_io, optim
from ..errors import ConfigError
from . import gradcheck, inspect
from .config import LiveUpdate, TrainingConfig, as_dict, momentum_refusal, parse_update
from .diagnostics import LearningWatch, Watch, all_finite
from .history import History
from .pacing import Clock, EpochMeter, Pacing
from .predict import Predictor
from .registry import OPTIMIZERS
from .tasks import build_optimizer, build_schedule, build_task

Emit = Callable[[dict], object]

GRAD_NORM_SAMPLES = 32  # batches per epoch whose gradient norms are measured
STEP_UNITS = ("batch", "epoch")


class Diverged(Exception):
    """The loss stopped being a finite number, or the network stopped learning."""


class _Stopped(Exception):
    """Raised at a stop check outside the step loop (building, evaluating) to end ``run``."""


class TrainingJob:
    """Train one network on one task, reporting events through ``emit``.

    Attributes:
        id: a short unique id, stamped on every event as ``job``.
        config: the validated config.
        state: ``created``, then ``running`` / ``paused``, ending in ``finished``,
            ``stopped`` or ``failed``.
        message: the text of the last status.
        model: the network, once built (read it after ``run`` to save the weights).
        history: every epoch's figures so far, and the latest picture (``History``).
        step_gate: a context manager every training step runs in; none by default (the
            web app's ``StepGate`` runs small jobs' steps one at a time).
    """

    def __init__(self, config: TrainingConfig, job_id: str | None = None):
        self.id = job_id or uuid.uuid4().hex[:12]
        self.config = config
        self.state = "created"
        self.message = ""
        self.model = None
        self._predictor: Predictor | None = None
        self.history = History()
        self._stop = threading.Event()
        self._resume = threading.Event()
        self._resume.set()
        self._lock = threading.Lock()
        self._weights_lock = threading.Lock()  # held while a step changes the weights
        self.step_gate = contextlib.nullcontext()
        self._pending: LiveUpdate | None = None
        self._stop_reason = ""
        self._epoch = 0  # the epoch being trained, for the final message
        self._step_unit: str | None = None  # "batch" or "epoch" while a step runs
        self._step_from: tuple[int, int] | None = None  # (epoch, batch) where it began
        self._parked = threading.Lock()  # held by inspections; a paused job waits for it
        self._batch: tuple[np.ndarray, np.ndarray] | None = None  # the next batch to train on
        self._position = (0, 0)
        # its own generator: a gradient check's choice of weights never moves the run's
        self._inspect_rng = np.random.default_rng([config.seed, 16])
        if config.paused:
            self._resume.clear()
        self.lr = config.lr
        self.momentum = config.momentum_value
        self._optimizer = None
        self._clock = Clock()

    # --- control, from any thread ------------------------------------------------
    def pause(self) -> None:
        with self._lock:
            self._step_unit = None
            self._resume.clear()

    def resume(self) -> None:
        with self._lock:
            self._step_unit = None
            self._resume.set()

    def step(self, unit: str) -> None:
        """Train one mini-batch (``"batch"``) or to the end of the epoch (``"epoch"``),
        emitting what training emits, then pause again. Only while paused.

        Raises:
            ConfigError: an unknown unit, or the job is not paused.
        """
        if unit not in STEP_UNITS:
            raise ConfigError(
                "unit",
                f'unit must be batch or epoch, e.g. {{"unit": "batch"}}; got {str(unit)[:20]!r}',
            )
        with self._lock:
            if self._resume.is_set() or self.done or self._stop.is_set():
                raise ConfigError(
                    None, "step works only while the job is paused: press Pause first"
                )
            self._step_unit, self._step_from = unit, None
            self._resume.set()

    def inspect(self, layer: int | None = None) -> dict:
        """Histograms and figures of the next batch's forward and backward, per weight layer
        (see ``inspect.inspect_batch``); the job's weights and optimizer are not changed."""
        with self._parked:
            xb, yb = self._paused_batch()
            pending = self._pending.model_dump(exclude_none=True) if self._pending else {}
            report = inspect.inspect_batch(
                self.model, self._task.criterion, self._optimizer, xb, yb, layer, **pending
            )
        epoch, batch = self._position
        return {"epoch": epoch, "batch": batch, "batches": self._task.num_batches(), **report}

    def gradcheck(self, layer: int, k: int) -> dict:
        """Backprop beside central differences for ``k`` weights of ``layer``, in float64 on
        a copy of the network (see ``inspect.gradcheck``)."""
        with self._parked:
            xb, yb = self._paused_batch()
            return gradcheck.gradcheck(
                self.model, self._task.criterion, xb, yb, layer, k, self._inspect_rng
            )

    def _paused_batch(self) -> tuple[np.ndarray, np.ndarray]:
        if self.state != "paused" or self._resume.is_set() or self._batch is None:
            raise ConfigError(
                None,
                "inspect and gradcheck work only while the job is paused: "
                "press Pause (or tick start paused) first",
            )
        return self._batch

    def stop(self, reason: str = "") -> None:
        """Ask the job to end at its next check (between steps, between evaluation chunks);
        ``run`` then reports ``stopped``, with ``reason`` if given (e.g. "the server is
        shutting down")."""
        if reason and not self._stop.is_set():
            self._stop_reason = reason
        self._stop.set()
        self._resume.set()

    def update(self, changes: dict) -> dict:
        """Change ``lr`` and/or ``momentum`` from the next step on; returns the new values.

        Raises:
            ConfigError: a field is unknown or out of range, or momentum does not apply.
        """
        update = parse_update(changes)
        if update.momentum is not None and OPTIMIZERS[self.config.optimizer].momentum is None:
            raise ConfigError("momentum", momentum_refusal(self.config.optimizer))
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

    def predict(self, inputs: np.ndarray) -> np.ndarray | None:
        """The current network's class probabilities for ``inputs`` (MNIST jobs), taken
        between two steps; safe while the job trains and after it ended. None before the
        network exists. Shape: (N, 784) in 0..1 -> (N, classes)."""
        if self._predictor is None:
            return None
        return self._predictor(inputs)

    def model_info(self) -> dict | None:
        """How the network was built and how its inputs and outputs are scaled, for the
        weights file (``bpnet.model_io``); None before the network exists."""
        if self.model is None:
            return None
        return model_io.describe(
            self.model, task=self.config.task, config=as_dict(self.config), **self._task.describe()
        )

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
        except _Stopped:
            self._report_stopped()
        except Diverged as exc:
            self._status("failed", str(exc))
        except Exception as exc:  # a job must never die silently
            self._status("failed", f"{type(exc).__name__}: {exc}")
        return self.state

    def _train(self) -> None:
        """Build, then run epochs of mini-batch steps, reporting as the pacing allows."""
        config = self.config
        task = self._task = build_task(config)
        task.between_chunks = self._between_chunks
        self._between_chunks()  # building a large data set or network takes a moment
        model = self.model = task.build_model()
        if hasattr(task, "predict"):  # classifiers answer questions about drawn images
            self._predictor = Predictor(task, model, self._weights_lock)
        self._between_chunks()
        optimizer = self._optimizer = build_optimizer(config, model.parameters())
        schedule = build_schedule(config, optimizer)
        self._linears = [m for m in model.modules() if m.parameters() and hasattr(m, "weight")]
        self._watch = Watch(inspect.weight_layers(model))
        self._send("dataset", {**task.dataset_payload(), "layers": _layer_names(self._linears)})
        self._status("running", "training")

        self._clock = Clock()
        pacing, units_pacing = Pacing(task.max_epoch_rate), Pacing(task.units_rate)
        self._learning = LearningWatch(getattr(task, "chance_accuracy", None))
        norm_stride = max(1, task.num_batches() // GRAD_NORM_SAMPLES)
        for epoch in range(1, config.epochs + 1):
            self._epoch = epoch
            meter = EpochMeter(len(self._linears), self._clock.now())
            # the layers' health is measured only in epochs that will be reported: tiny
            # networks run hundreds of epochs a second, and the figures are per epoch
            watch = self._step_unit is not None or epoch == config.epochs
            watch = watch or pacing.ready(self._clock.now())
            for index, (xb, yb) in enumerate(task.batches()):
                self._batch, self._position = (xb, yb), (epoch, index)
                if not self._checkpoint():
                    return self._report_stopped()
                measure = index % norm_stride == 0
                with self.step_gate:
                    loss, norms = self._step(xb, yb, epoch, measure_norms=measure, watch=watch)
                meter.add(loss, len(xb), norms)
                stepped = self._step_unit == "batch"
                if stepped or (task.reports_progress and meter.progress_due(self._clock.now())):
                    self._report_progress(epoch, index + 1, meter)
            self.history.record_epoch(epoch, meter.mean_loss, optimizer_lr(self._optimizer))
            self._batch, self._position = None, (epoch + 1, 0)
            now, stepping = self._clock.now(), self._step_unit is not None
            if epoch == config.epochs or stepping or pacing.due(now):
                units = epoch == config.epochs or stepping or units_pacing.due(now)
                self._report_epoch(epoch, meter, units)
            if schedule is not None:
                schedule.step()  # per epoch, after the epoch's report (which shows the lr it used)
        self._status("finished", f"finished {config.epochs} epochs")

    def _step(
        self, xb: np.ndarray, yb: np.ndarray, epoch: int, measure_norms: bool, watch: bool = False
    ) -> tuple[float, list[float] | None]:
        """One mini-batch: forward, loss, backward, optimizer step.

        Returns the batch loss and, when asked, each layer's weight-gradient norm; with
        ``watch`` the measured batches also feed the layers' health (``diagnostics.Watch``)."""
        task, model, optimizer = self._task, self.model, self._optimizer
        optimizer.zero_grad()
        loss = task.criterion(model(xb), yb)
        if not math.isfinite(loss):
            raise Diverged(f"loss became {loss} at epoch {epoch} — try a smaller learning rate")
        model.backward(task.criterion.backward(), input_grad=False)
        norms = [_norm(m.weight.grad) for m in self._linears] if measure_norms else None
        before = self._watch.before_step() if measure_norms and watch else None
        with self._weights_lock:
            optimizer.step()
        if before is not None:
            self._watch.after_step(before)
        return loss, norms

    def _report_progress(self, epoch: int, batch: int, meter: EpochMeter) -> None:
        now = self._clock.now()
        self._send("progress", {
            "epoch": epoch, "batch": batch, "batches": self._task.num_batches(),
            "train_loss": meter.mean_loss, "examples_per_s": meter.rate(now), "elapsed": now,
        })  # fmt: skip

    def _report_epoch(self, epoch: int, meter: EpochMeter, units: bool = True) -> None:
        """Evaluate on held-out data and send the ``epoch`` event with the task's picture,
        the layers' health and, when ``units``, what single units do."""
        now = self._clock.now()
        health = self._watch.report()  # read before evaluation overwrites the activations
        self.model.eval()
        picture = self._task.evaluate(self.model, epoch)
        if units:
            picture.update(self._task.units(self.model))
        self.model.train()
        if not math.isfinite(picture["val_loss"]):
            raise Diverged(
                f"validation loss became {picture['val_loss']} at epoch {epoch} — "
                f"try a smaller learning rate"
            )
        if not (all_finite(picture) and all_finite(meter.mean_norms)):
            raise Diverged(
                f"the network's outputs or gradients overflowed at epoch {epoch} — "
                f"try a smaller learning rate"
            )
        stalled = self._learning.verdict(epoch, picture, meter.mean_norms, self.config.lr)
        if stalled:
            raise Diverged(stalled)
        payload = {
            "epoch": epoch, "epochs": self.config.epochs,
            "train_loss": meter.mean_loss, "lr": optimizer_lr(self._optimizer),
            "elapsed": now, "grad_norms": meter.mean_norms, "examples_per_s": meter.rate(now),
            **health, **picture,
        }  # fmt: skip
        self.history.record_eval(payload)
        self._send("epoch", payload)

    def _between_chunks(self) -> None:
        """A stop check outside the step loop (building, evaluating in chunks). Pause and
        step wait for the next step: a pause here would hold back the epoch's picture."""
        if self._stop.is_set():
            raise _Stopped

    def _report_stopped(self) -> None:
        # name the last epoch that finished: it is the last point on the page's charts
        if self._epoch > 1:
            message = f"stopped after epoch {self._epoch - 1}"
        else:
            message = "stopped during epoch 1" if self._epoch else "stopped before training"
        self._status("stopped", f"{message}: {self._stop_reason}" if self._stop_reason else message)

    def _checkpoint(self) -> bool:
        """Between steps: honour pause, step, stop and live updates. False means stop now."""
        self._end_step()
        if not self._resume.is_set() and not self._stop.is_set():
            epoch, batch = self._position
            where = f"epoch {epoch}, batch {batch}/{self._task.num_batches()}"
            self._status(
                "paused", f"paused at {where}" if batch else f"paused before epoch {epoch}"
            )
            self._clock.pause()
            while not self._resume.wait(timeout=0.5):
                pass
            with self._parked:  # an inspection under way finishes before the weights move
                self._clock.resume()
            self._end_step()  # a step asked for during the pause begins here
            if not self._stop.is_set():
                self._status(
                    "running", f"stepping one {self._step_unit}" if self._step_unit else "training"
                )
        if self._stop.is_set():
            return False
        if self._pending is not None and self._optimizer is not None:
            with self._lock:
                update, self._pending = self._pending, None
            for group in self._optimizer.param_groups:
                if update.lr is not None:
                    group["lr"] = update.lr
                if update.momentum is not None and "momentum" in group:
                    group["momentum"] = update.momentum
        return True

    def _end_step(self) -> None:
        """A step that has done its batch, or reached a new epoch, pauses the job again."""
        with self._lock:
            if self._step_unit is None:
                return
            if self._step_from is None:
                self._step_from = self._position  # the step begins here
                return
            epoch, _ = self._position
            if self._step_unit == "batch" or epoch != self._step_from[0]:
                self._step_unit = None
                self._resume.clear()

    # --- events ------------------------------------------------------------------
    def _send(self, name: str, payload: dict) -> None:
        event = {"event": name, "job": self.id, "time": time.time(), **payload}
        if name in ("epoch", "status"):
            # every epoch's loss reaches the client, though epoch events are paced
            new = self.history.take_new()
            if new is not None:
                event["history"] = new
        self._emit(event)

    def _status(self, state: str, message: str) -> None:
        self.state, self.message = state, message
        self._send("status", {"state": state, "message": message})


def optimizer_lr(optimizer: optim.Optimizer) -> float:
    """The learning rate the last epoch used (read before the schedule steps)."""
    return optimizer.param_groups[0]["lr"]


def _norm(a: np.ndarray | None) -> float:
    if a is None:  # no gradient reached the layer (zero_grad sets them to None)
        return 0.0
    flat = a.reshape(-1)
    return math.sqrt(float(np.dot(flat, flat)))  # BLAS dot: cheaper than np.linalg.norm


def _layer_names(layers: list) -> list[str]:
    """``["Conv2d 1", "Conv2d 2", "Linear 3", …]``: each weighted layer's kind and place."""
    return [f"{type(layer).__name__} {i + 1}" for i, layer in enumerate(layers)]
