"""A job's record of every epoch: what the loss chart, a reattaching page and the CSV need.

Every epoch adds its training loss and learning rate; the epochs that were evaluated
(at the picture rate) add their validation figures. ``take_new`` hands out the epochs
since the last call, batched onto the next event; ``snapshot`` gives the whole record to
a page that reattaches after a reload. Reads may come from other threads, hence the lock.
"""

from __future__ import annotations

import csv
import io
import math
import threading
from array import array

CSV_COLUMNS = ("epoch", "train_loss", "val_loss", "val_accuracy", "lr")
_EVALUATED = ("val_loss", "val_accuracy")  # NaN inside, None outside: not evaluated


class History:
    """Per-epoch figures as parallel lists (``None`` where an epoch was not evaluated).

    Kept in typed arrays (8 bytes a figure): a 100,000-epoch job holds a few MB, not tens.
    Shape: every list in ``snapshot()`` has one entry per finished epoch, in order.
    """

    def __init__(self):
        self._lock = threading.Lock()
        self._columns: dict[str, array] = {
            "epoch": array("q"), "train_loss": array("d"), "lr": array("d"),
            "val_loss": array("d"), "val_accuracy": array("d"),
        }  # fmt: skip
        self._grad_norms: dict[int, list[float]] = {}  # by index, on evaluated epochs only
        self._sent = 0  # epochs already handed out by take_new
        self.picture: dict | None = None  # the latest evaluated epoch's event payload

    def __len__(self) -> int:
        return len(self._columns["epoch"])

    def record_epoch(self, epoch: int, train_loss: float, lr: float) -> None:
        """One finished epoch; its evaluation, if any, follows with ``record_eval``."""
        with self._lock:
            columns = self._columns
            columns["epoch"].append(int(epoch))
            columns["train_loss"].append(float(train_loss))
            columns["lr"].append(float(lr))
            for name in _EVALUATED:
                columns[name].append(math.nan)

    def record_eval(self, payload: dict) -> None:
        """The evaluated last epoch's figures and picture (an ``epoch`` event's payload)."""
        with self._lock:
            last = len(self._columns["epoch"]) - 1
            for name in _EVALUATED:
                if payload.get(name) is not None:
                    self._columns[name][last] = float(payload[name])
            if payload.get("grad_norms") is not None:
                self._grad_norms[last] = list(payload["grad_norms"])
            previous = self.picture or {}
            self.picture = dict(payload)
            # MNIST draws sample digits only every few epochs: keep the latest ones
            if "samples" in previous and "samples" not in payload:
                self.picture["samples"] = previous["samples"]

    def take_new(self) -> dict | None:
        """``{"epoch": [...], "train_loss": [...], "lr": [...]}`` for every epoch since the
        previous call, or None when there is none."""
        with self._lock:
            start, self._sent = self._sent, len(self._columns["epoch"])
            if start == self._sent:
                return None
            return {
                name: self._columns[name][start:].tolist() for name in ("epoch", "train_loss", "lr")
            }

    def snapshot(self) -> dict:
        """Every epoch so far: epoch, train_loss, lr, val_loss, val_accuracy, grad_norms."""
        with self._lock:
            result = {name: column.tolist() for name, column in self._columns.items()}
            norms = dict(self._grad_norms)
        for name in _EVALUATED:
            result[name] = [None if math.isnan(v) else v for v in result[name]]
        result["grad_norms"] = [norms.get(i) for i in range(len(result["epoch"]))]
        return result

    def to_csv(self) -> str:
        """The record as CSV with a header row; blank cells where an epoch was not evaluated."""
        columns = self.snapshot()
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(CSV_COLUMNS)
        for row in zip(*(columns[name] for name in CSV_COLUMNS)):
            writer.writerow(["" if value is None else repr(value) for value in row])
        return out.getvalue()
