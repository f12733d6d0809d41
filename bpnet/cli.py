"""The command line: ``bpnet train curve|surface|mnist [options]``.

It turns flags into a training config, runs a job through the same engine the web app
uses, and shows its events as tqdm progress bars and a line of metrics per epoch, or as
JSON lines with ``--json``. Bad flags exit with status 2 and a one-line message.
"""

from __future__ import annotations

import argparse
import json
import sys
import threading

from .engine import ConfigError, TrainingJob, defaults, parse_config

# flag -> config field, for the flags whose names differ from the field
_FIELD_OF_FLAG = {"expr": "expression"}
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


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="bpnet", description="Train small neural networks and watch them learn.")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    train = commands.add_parser("train", help="train a network on a task")
    tasks = train.add_subparsers(dest="task", required=True, parser_class=_Parser)
    for task, help_text in [
        ("curve", "fit y = f(x), e.g. --expr 'sin(x)'"),
        ("surface", "fit z = f(x, y), e.g. --expr 'sin(x)*cos(y)'"),
        ("mnist", "classify handwritten digits"),
    ]:
        sub = tasks.add_parser(task, help=help_text)
        d = defaults(task)
        net = sub.add_argument_group("network and training")
        net.add_argument(
            "--hidden", type=_numbers(int), help=f"hidden sizes (default {d['hidden']})"
        )
        net.add_argument(
            "--activation", help=f"relu, tanh, sigmoid, leaky_relu ({d['activation']})"
        )
        net.add_argument(
            "--optimizer", help=f"sgd, momentum, nesterov, adam, adamw, rmsprop ({d['optimizer']})"
        )
        net.add_argument("--lr", type=float, help=f"learning rate ({d['lr']})")
        net.add_argument("--momentum", type=float, help=f"momentum ({d['momentum']})")
        net.add_argument("--weight-decay", type=float, help="weight decay (0)")
        net.add_argument("--lr-schedule", help=f"constant or cosine ({d['lr_schedule']})")
        net.add_argument("--batch-size", type=int, help=f"batch size ({d['batch_size']})")
        net.add_argument("--epochs", type=int, help=f"epochs ({d['epochs']})")
        net.add_argument("--seed", type=int, help="random seed (0)")
        data = sub.add_argument_group("data")
        if task == "mnist":
            data.add_argument("--dataset", help="mnist or fashion-mnist (mnist)")
            data.add_argument("--train-subset", type=int, help="train on the first N images")
            data.add_argument(
                "--sample-every", type=int, help="draw validation digits every N epochs"
            )
        else:
            data.add_argument("--expr", help=f"the formula ({d['expression']!r})")
            data.add_argument("--x-range", type=_numbers(float), help=f"min,max ({d['x_range']})")
            if task == "surface":
                data.add_argument(
                    "--y-range", type=_numbers(float), help=f"min,max ({d['y_range']})"
                )
            data.add_argument("--n-train", type=int, help=f"training points ({d['n_train']})")
            data.add_argument("--n-val", type=int, help=f"validation points ({d['n_val']})")
            data.add_argument(
                "--noise", type=float, help=f"noise on training targets ({d['noise']})"
            )
            data.add_argument("--grid", type=int, help=f"plotting grid size ({d['grid']})")
        out = sub.add_argument_group("output")
        out.add_argument("--save", metavar="PATH", help="save the trained weights to PATH (.npz)")
        out.add_argument("--json", action="store_true", help="print events as JSON lines")
    return parser


def config_from_args(args: argparse.Namespace) -> dict:
    skip = {"command", "task", "save", "json"}
    config = {"task": args.task}
    for flag, value in vars(args).items():
        if flag not in skip and value is not None:
            config[_FIELD_OF_FLAG.get(flag, flag)] = value
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
        from .serialization import save

        try:
            path = save(job.model, args.save)
        except OSError as exc:
            print(f"bpnet: could not save the weights to {args.save}: {exc}", file=sys.stderr)
            return 1
        print(f"saved weights to {path}", file=sys.stderr)
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
    """tqdm bars: one over epochs, one within long epochs; a metrics line per epoch."""

    def __init__(self, config):
        from tqdm import tqdm

        self._tqdm = tqdm
        self.epochs = config.epochs
        self.every = max(1, config.epochs // 50)  # long curve runs: about 50 lines, not 2,000
        self.next_line = 1
        self.bar = tqdm(total=config.epochs, unit="epoch", desc=config.task, dynamic_ncols=True)
        self.inner = None

    def __call__(self, event: dict) -> None:
        kind = event["event"]
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
            if event["epoch"] >= self.next_line or event["epoch"] == self.epochs:
                self.next_line = event["epoch"] + self.every
                self.bar.write(_metrics_line(event))
        elif kind == "status" and event["state"] in ("failed", "stopped"):
            self.bar.write(f"{event['state']}: {event['message']}")

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
