"""The command line: ``bpnet train <task> [options]``, one task per entry of the registry.

It turns flags into a training config, runs a job through the same engine the web app
uses, and shows its events as tqdm progress bars and a line of metrics per epoch, or as
JSON lines with ``--json``. Bad flags exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import typing
from typing import Annotated

from .engine import TASKS, ConfigError, TrainingJob, defaults, parse_config
from .engine.config import TrainingConfig, describe
from .expr import describe_language
from .model_io import save_model

# the flags whose names differ from their config field
_FLAG_OF_FIELD = {"expression": "--expr"}
_LIST_FLAGS = ("--hidden", "--x-range", "--y-range")  # values such as -5,5 start with "-"
INTERRUPTED = 130  # the shell's code for a program ended by Ctrl-C (128 + SIGINT)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, exit status 2
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


def _joined_negative_lists(argv: list[str]) -> list[str]:
    """``--x-range -5,5`` -> ``--x-range=-5,5``: argparse would take ``-5,5`` for a flag."""
    joined, args = [], iter(argv)
    for arg in args:
        if arg in _LIST_FLAGS:
            value = next(args, None)
            joined.append(arg if value is None else f"{arg}={value}")
        else:
            joined.append(arg)
    return joined


def build_parser() -> argparse.ArgumentParser:
    """``bpnet train <task>`` for every task in the registry, with a flag per config field."""
    parser = _Parser(prog="bpnet", description="Train small neural networks and watch them learn.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a network on a task")
    tasks = train.add_subparsers(dest="task", required=True, parser_class=_Parser)
    shared = TrainingConfig.model_fields
    for name, spec in TASKS.items():
        sub = tasks.add_parser(name, help=spec.summary, description=spec.summary)
        if "expression" in spec.config.model_fields:  # errors stay one line; --help has it all
            variables = ("x", "y") if "y_range" in spec.config.model_fields else ("x",)
            sub.epilog = f"What --expr may contain: {describe_language(variables)}"
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
    worker = commands.add_parser(
        "worker",
        help="class mode: run training jobs queued by `python -m webapp --redis URL`",
        description="Run the training jobs that web processes queue in Redis (class mode; "
        "needs pip install -e '.[class]').",
    )
    worker.add_argument("--redis", required=True, metavar="URL", help="e.g. redis://host:6379/0")
    worker.add_argument(
        "--processes", type=int, default=1, metavar="N",
        help="worker processes, each one job at a time (default 1; one per core is best)",
    )  # fmt: skip
    return parser


def _worker(args: argparse.Namespace) -> int:
    if args.processes < 1:
        print(f"bpnet: error: --processes must be at least 1, e.g. 2; got {args.processes}",
              file=sys.stderr)  # fmt: skip
        return 2
    # imported here: the worker emits through Flask-SocketIO, and bpnet never imports Flask
    # (nor redis) otherwise
    try:
        from webapp.cluster import require

        require()
        from webapp.cluster.worker import serve
    except (ImportError, RuntimeError) as exc:
        print(f"bpnet: error: {exc}", file=sys.stderr)
        return 2
    return serve(args.redis, args.processes)


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
    args = parser.parse_args(_joined_negative_lists(sys.argv[1:] if argv is None else argv))
    if args.command == "worker":
        return _worker(args)
    try:
        config = parse_config(config_from_args(args))
    except ConfigError as exc:
        field = (exc.field or "").split(".")[0]
        flag = _FLAG_OF_FIELD.get(field, "--" + field.replace("_", "-"))
        if field == "expression":
            exc = f"{exc} (bpnet train {args.task} --help shows what a formula may contain)"
        parser.exit(
            2, f"bpnet: error: argument {flag}: {exc}\n" if field else f"bpnet: error: {exc}\n"
        )
    job = TrainingJob(config)
    printer = _JsonPrinter() if args.json else _ProgressPrinter(config)
    _run_until_done(job, printer)
    printer.close()
    if args.save and job.model is not None and job.state in ("finished", "stopped"):
        try:
            path = save_model(job.model, args.save, job.model_info())
        except OSError as exc:
            print(f"bpnet: could not save the weights to {args.save}: {exc}", file=sys.stderr)
            return 1
        print(f"saved weights to {path} (bpnet.load_model rebuilds the network)", file=sys.stderr)
    if job.state == "failed":
        if args.json:  # the progress printer has already said it, in words
            print(f"bpnet: training failed: {job.message}", file=sys.stderr)
        return 1
    return INTERRUPTED if job.state == "stopped" else 0


def _run_until_done(job: TrainingJob, printer) -> None:
    """Run ``job`` in a thread; the first Ctrl-C stops it (its weights so far are kept), a
    second one exits at once.

    The wait is on an event set when ``run`` returns, not on ``Thread.join``: on CPython
    3.10-3.12 a join interrupted by Ctrl-C returns at once ever after, and the process
    would exit before the job had stopped.
    """
    done = threading.Event()

    def run() -> None:
        try:
            job.run(printer)
        finally:
            done.set()

    def interrupt(signum, frame) -> None:
        if signal_state["count"]:
            os._exit(INTERRUPTED)  # a second Ctrl-C: the user wants out now
        signal_state["count"] += 1
        job.stop("interrupted (Ctrl-C)")

    signal_state = {"count": 0}
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, interrupt) if in_main_thread else None
    try:
        threading.Thread(target=run, daemon=True).start()
        while not done.wait(timeout=0.2):
            pass
    finally:
        if in_main_thread:
            signal.signal(signal.SIGINT, previous)


class _JsonPrinter:
    def __call__(self, event: dict) -> None:
        # allow_nan=False: NaN and Infinity are not JSON; the job reports them as a failure
        print(json.dumps(event, allow_nan=False), flush=True)

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
            state, message = event["state"], event["message"]
            self.bar.write(message if message.startswith(state) else f"{state}: {message}")

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
        f"epoch {event['epoch']:>{width}}/{event['epochs']}  "
        f"train_loss {_loss(event['train_loss'])}  val_loss {_loss(event['val_loss'])}"
    )
    if "val_accuracy" in event:
        line += f"  val_accuracy {100 * event['val_accuracy']:.2f}%"
    return line + f"  lr {event['lr']:.3g}  {event['elapsed']:.1f} s"


def _loss(value: float) -> str:
    """Five decimals for the usual range; scientific notation for huge or tiny losses."""
    if value != 0 and not 1e-4 <= abs(value) < 1e5:
        return f"{value:.4e}"
    return f"{value:.5f}"


if __name__ == "__main__":
    sys.exit(main())
