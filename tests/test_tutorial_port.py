"""A PyTorch user's MNIST tutorial runs on bpnet with only its imports and its backward
line changed, and trains exactly as it does on PyTorch."""

import difflib
import importlib.util
from pathlib import Path

from numpy.testing import assert_allclose

import bpnet
from bpnet.datasets import load_mnist

HERE = Path(__file__).parent / "tutorial"


def load_module(name: str):
    spec = importlib.util.spec_from_file_location(name, HERE / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def code_lines(name: str) -> list[str]:
    """The file's lines after its module docstring (which says what the file is)."""
    text = (HERE / f"{name}.py").read_text()
    return text.split('"""', 2)[2].splitlines()


def test_the_port_changes_only_the_imports_and_the_backward_line():
    diff = difflib.unified_diff(
        code_lines("mnist_torch"), code_lines("mnist_bpnet"), n=0, lineterm=""
    )
    changed = [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]
    assert changed == [
        "-import torch",
        "-from torch import nn",
        "-from torch.utils.data import DataLoader",
        "+import bpnet as torch",
        "+from bpnet import DataLoader, nn",
        "-        loss.backward()",
        "+        model.backward(loss_fn.backward())",
    ]


def test_the_ported_tutorial_trains_like_the_original(torch):
    x, y = load_mnist("train")
    x_test, y_test = load_mnist("test")
    x, y = x[:1280].reshape(-1, 1, 28, 28), y[:1280]
    x_test, y_test = x_test[:640].reshape(-1, 1, 28, 28), y_test[:640]

    ported, original = load_module("mnist_bpnet"), load_module("mnist_torch")
    bpnet.manual_seed(0)
    weights = ported.NeuralNetwork().state_dict()
    model, losses, accuracy, test_loss = ported.main(
        bpnet.TensorDataset(x, y), bpnet.TensorDataset(x_test, y_test), epochs=2,
        state_dict=weights,
    )  # fmt: skip
    data = torch.utils.data.TensorDataset
    _, losses_t, accuracy_t, test_loss_t = original.main(
        data(torch.from_numpy(x.copy()), torch.from_numpy(y.copy())),
        data(torch.from_numpy(x_test.copy()), torch.from_numpy(y_test.copy())),
        epochs=2,
        state_dict={k: torch.from_numpy(v.copy()) for k, v in weights.items()},
    )
    assert len(losses) == len(losses_t) == 40
    assert_allclose(losses, losses_t, rtol=1e-4)
    assert abs(accuracy - accuracy_t) <= 2 / 640  # float32 rounding may flip a close call
    assert_allclose(test_loss, test_loss_t, rtol=1e-4)
    assert all(p.grad is None for p in model.parameters())  # the loop ends with zero_grad()
