"""The command line: ``bpnet train <task> [options]``, one task per entry of the registry.

It turns flags into a training config, runs a job through the same engine the web app
uses, and shows its events as tqdm progress bars and a line of metrics per epoch, or as
JSON lines with ``--json``. Bad flags exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
import typing
from typing import Annotated

from .engine import TASKS, ConfigError, TrainingJob, defaults, parse_config
from .engine.config import TrainingConfig, describe
from .model_io import save_model

# the flags whose names differ from their config field
_FLAG_OF_FIELD = {"expression": "--expr"}


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2, as the issue asks
        self.exit(2, f"{self.prog}: error: {message}\n")


def _numbers(kind):
    def parse(text: str):
        try:
            return [kind(part) for part in text.split(",") if part.strip()]
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected comma-separated {kind.__name__}s, got {text!r}"
            ) from None

    parse.__name__ = f"list of {kind.__name__}s"
    return parse


def _words(text: str) -> list[str]:
    """``x,y,sinx`` -> ``["x", "y", "sinx"]`` (the config says which words are allowed)."""
    return [part.strip() for part in text.split(",") if part.strip()]


def build_parser() -> argparse.ArgumentParser:
    """``bpnet train <task>`` for every task in the registry, with a flag per config field."""
    parser = _Parser(prog="bpnet", description="Train small neural networks and watch them learn.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a network on a task")
    tasks = train.add_subparsers(dest="task", required=True, parser_class=_Parser)
    shared = TrainingConfig.model_fields
    for name, spec in TASKS.items():
        sub = tasks.add_parser(name, help=spec.summary, description=spec.summary)
        d = defaults(name)
        groups = {
            True: sub.add_argument_group("network and training"),
            False: sub.add_argument_group("data"),
        }
        for field, info in spec.config.model_fields.items():
            if field != "task":
                _add_flag(groups[field in shared], spec.config, field, info, d[field])
        out = sub.add_argument_group("output")
        out.add_argument("--save", metavar="PATH", help="save the trained weights to PATH (.npz)")
        out.add_argument("--json", action="store_true", help="print events as JSON lines")
    return parser


def _add_flag(group, config, field: str, info, default) -> None:
    """One flag for one config field, its type and choices read from the field's type."""
    annotation = info.annotation
    if type(None) in typing.get_args(annotation):  # "int | None": the flag is the int
        annotation = next(a for a in typing.get_args(annotation) if a is not type(None))
    annotation = _base(annotation)
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    kwargs: dict = {}
    if origin is typing.Literal:
        kwargs["choices"] = list(args)
        kwargs["metavar"] = "{" + ",".join(args) + "}"
    elif origin is list and _base(args[0]) in (int, float):
        kwargs["type"] = _numbers(_base(args[0]))
    elif origin is list and typing.get_origin(args[0]) is typing.Literal:
        kwargs["type"] = _words
        kwargs["metavar"] = ",".join(typing.get_args(args[0]))
    elif annotation in (int, float, str):
        kwargs["type"] = annotation
    else:
        return  # structured fields (e.g. a list of points) come through the web page only
    if isinstance(default, list):
        shown = ",".join(str(v) for v in default)  # as typed: 64,64
    else:
        shown = (
            "none"
            if default is None
            else (
                repr(default)
                if isinstance(default, str) and origin is not typing.Literal
                else default
            )
        )
    words = describe(config, field)
    flag = _FLAG_OF_FIELD.get(field, "--" + field.replace("_", "-"))
    group.add_argument(flag, dest=field, help=f"{words} (default {shown})", **kwargs)


def _base(annotation):
    """``Annotated[int, Field(...)]`` -> ``int``."""
    return (
        typing.get_args(annotation)[0] if typing.get_origin(annotation) is Annotated else annotation
    )


def config_from_args(args: argparse.Namespace) -> dict:
    skip = {"command", "task", "save", "json"}
    config = {"task": args.task}
    for flag, value in vars(args).items():
        if flag not in skip and value is not None:
            config[flag] = value
    return config


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        config = parse_config(config_from_args(args))
    except ConfigError as exc:
        field = (exc.field or "").split(".")[0]
        flag = _FLAG_OF_FIELD.get(field, "--" + field.replace("_", "-"))
        parser.exit(
            2, f"bpnet: error: argument {flag}: {exc}\n" if field else f"bpnet: error: {exc}\n"
        )
    job = TrainingJob(config)
    printer = _JsonPrinter() if args.json else _ProgressPrinter(config)
    worker = threading.Thread(target=job.run, args=(printer,), daemon=True)
    worker.start()
    try:
        while worker.is_alive():
            worker.join(timeout=0.2)
    except KeyboardInterrupt:
        job.stop()
        worker.join()
    printer.close()
    if args.save and job.model is not None and job.state in ("finished", "stopped"):
        try:
            path = save_model(job.model, args.save, job.model_info())
        except OSError as exc:
            print(f"bpnet: could not save the weights to {args.save}: {exc}", file=sys.stderr)
            return 1
        print(f"saved weights to {path} (bpnet.load_model rebuilds the network)", file=sys.stderr)
    if job.state == "failed":
        print(f"bpnet: training failed: {job.message}", file=sys.stderr)
        return 1
    return 130 if job.state == "stopped" else 0


class _JsonPrinter:
    def __call__(self, event: dict) -> None:
        print(json.dumps(event), flush=True)

    def close(self) -> None:
        pass


class _ProgressPrinter:
    """tqdm bars: one over epochs, one within long epochs; a metrics line per epoch (with
    the validation figures on the epochs that were evaluated)."""

    def __init__(self, config):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.epochs = config.epochs
        self.bar = tqdm(total=config.epochs, unit="epoch", desc=config.task, dynamic_ncols=True)
        self.inner = None

    def __call__(self, event: dict) -> None:
        kind = event["event"]
        self._unevaluated_epochs(event)
        if kind == "progress":
            if self.inner is None:
                self.inner = self._tqdm(
                    total=event["batches"],
                    unit="batch",
                    leave=False,
                    desc=f"epoch {event['epoch']}",
                    dynamic_ncols=True,
                )
            self.inner.update(event["batch"] - self.inner.n)
            self.inner.set_postfix(
                loss=f"{event['train_loss']:.4f}", ex_s=f"{event['examples_per_s']:,.0f}"
            )
        elif kind == "epoch":
            if self.inner is not None:
                self.inner.close()
                self.inner = None
            self.bar.update(event["epoch"] - self.bar.n)
            self.bar.set_postfix(train=f"{event['train_loss']:.4g}", val=f"{event['val_loss']:.4g}")
            self.bar.write(_metrics_line(event))
        elif kind == "status" and event["state"] in ("failed", "stopped"):
            self.bar.write(f"{event['state']}: {event['message']}")

    def _unevaluated_epochs(self, event: dict) -> None:
        """Epoch events are paced; the epochs between them arrive batched in ``history``."""
        batch = event.get("history")
        if batch is None:
            return
        width = len(str(self.epochs))
        for epoch, loss, lr in zip(batch["epoch"], batch["train_loss"], batch["lr"]):
            if epoch != event.get("epoch"):
                self.bar.write(
                    f"epoch {epoch:>{width}}/{self.epochs}  train_loss {loss:.5f}  lr {lr:.3g}"
                )

    def close(self) -> None:
        if self.inner is not None:
            self.inner.close()
        self.bar.close()


def _metrics_line(event: dict) -> str:
    width = len(str(event["epochs"]))
    line = (
        f"epoch {event['epoch']:>{width}}/{event['epochs']}  train_loss {event['train_loss']:.5f}  "
        f"val_loss {event['val_loss']:.5f}"
    )
    if "val_accuracy" in event:
        line += f"  val_accuracy {100 * event['val_accuracy']:.2f}%"
    return line + f"  lr {event['lr']:.3g}  {event['elapsed']:.1f} s"


if __name__ == "__main__":
    sys.exit(main())
