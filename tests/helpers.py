"""Helpers shared by the core tests: a float64 central-difference gradient checker,
a PyTorch mirror of a bpnet model, an optimizer run against ``torch.optim``, and waiting
for a job that trains in another thread."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import numpy as np
from numpy.testing import assert_allclose

import bpnet
from bpnet import nn

# --- finite differences ---------------------------------------------------------------


def numerical_grad(f: Callable[[], float], x: np.ndarray, eps: float = 1e-6) -> np.ndarray:
    """Central differences ``(f(x + eps) - f(x - eps)) / 2 eps`` of the scalar ``f()``
    with respect to every element of ``x``, which is perturbed in place and restored."""
    grad = np.zeros(x.shape, dtype=np.float64)
    for index in np.ndindex(x.shape):
        old = x[index]
        x[index] = old + eps
        plus = f()
        x[index] = old - eps
        minus = f()
        x[index] = old
        grad[index] = (plus - minus) / (2 * eps)
    return grad


def check_gradients(
    module: nn.Module,
    x: np.ndarray,
    seed: int = 0,
    before_forward: Callable[[], object] = lambda: None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Compare ``module.backward`` with central differences, in float64.

    The scalar checked is ``L = sum(upstream * module(x))`` with a random ``upstream``,
    so every output element carries a different weight. ``before_forward`` runs before
    each forward pass (reseed there to keep a Dropout mask fixed).
    """
    assert x.dtype == np.float64, "finite differences need float64"
    for p in module.parameters():
        assert p.dtype == np.float64, "build the module with dtype=np.float64 or .double()"
    before_forward()
    y = module(x)
    upstream = np.random.default_rng(seed).standard_normal(np.shape(y))

    def loss() -> float:
        before_forward()
        return float(np.sum(module(x) * upstream))

    module.zero_grad()
    before_forward()
    module(x)
    if type(module)._backward_takes_input_grad:
        input_grad = module.backward(upstream.copy(), input_grad=True)
    else:  # a layer written with backward(self, grad) always returns dL/dx
        input_grad = module.backward(upstream.copy())
    assert_allclose(input_grad, numerical_grad(loss, x), rtol=rtol, atol=atol, err_msg="dL/dx")
    for name, p in module.named_parameters():
        assert_allclose(
            p.grad, numerical_grad(loss, p.data), rtol=rtol, atol=atol, err_msg=f"dL/d{name}"
        )


# --- PyTorch mirrors -------------------------------------------------------------------


def torch_module(module: nn.Module, torch):
    """The equivalent ``torch.nn`` module, holding a copy of ``module``'s weights
    (loaded through ``load_state_dict``, as a user would)."""
    simple = {
        nn.ReLU: lambda m: torch.nn.ReLU(),
        nn.Sigmoid: lambda m: torch.nn.Sigmoid(),
        nn.Tanh: lambda m: torch.nn.Tanh(),
        nn.LeakyReLU: lambda m: torch.nn.LeakyReLU(m.negative_slope),
        nn.Softmax: lambda m: torch.nn.Softmax(dim=m.dim),
        nn.Flatten: lambda m: torch.nn.Flatten(m.start_dim, m.end_dim),
        nn.Dropout: lambda m: torch.nn.Dropout(m.p),
    }
    if isinstance(module, nn.Sequential):
        mirror = torch.nn.Sequential(*(torch_module(m, torch) for m in module))
    elif isinstance(module, nn.Linear):
        dtype = torch.float64 if module.weight.dtype == np.float64 else torch.float32
        mirror = torch.nn.Linear(
            module.in_features, module.out_features, bias=module.bias is not None, dtype=dtype
        )
    else:
        mirror = simple[type(module)](module)
    mirror.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in module.state_dict().items()})
    mirror.train(module.training)
    return mirror


def assert_same_parameters(model: nn.Module, reference, rtol: float, atol: float, what: str = ""):
    """Every bpnet parameter equals the torch parameter of the same name."""
    theirs = dict(reference.named_parameters())
    assert [name for name, _ in model.named_parameters()] == list(theirs)
    for name, p in model.named_parameters():
        assert_allclose(
            p.data, theirs[name].detach().numpy(), rtol=rtol, atol=atol, err_msg=f"{what} {name}"
        )


def run_against_torch(
    torch,
    make_optimizer: Callable,
    make_reference: Callable,
    steps: int = 20,
    lr_at_step: dict[int, float] | None = None,
    loss: str = "cross_entropy",
    rtol: float = 1e-5,
    atol: float = 5e-6,
) -> None:
    """Train a small MLP with a bpnet optimizer and the same MLP with its torch.optim
    counterpart for ``steps`` steps from identical weights; after every step the losses
    and all parameters must agree. ``lr_at_step`` sets ``param_groups[0]["lr"]`` in both
    before the given steps."""
    bpnet.manual_seed(0)
    model = nn.Sequential(nn.Linear(4, 8), nn.Tanh(), nn.Linear(8, 6), nn.ReLU(), nn.Linear(6, 3))
    reference = torch_module(model, torch)
    data = np.random.default_rng(1)
    x = data.standard_normal((16, 4)).astype(np.float32)
    if loss == "cross_entropy":
        y = data.integers(0, 3, 16)
        criterion, reference_criterion = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    else:
        y = data.standard_normal((16, 3)).astype(np.float32)
        criterion, reference_criterion = nn.MSELoss(), torch.nn.MSELoss()
    optimizer = make_optimizer(model.parameters())
    reference_optimizer = make_reference(reference.parameters())
    for step in range(steps):
        if lr_at_step and step in lr_at_step:
            optimizer.param_groups[0]["lr"] = lr_at_step[step]
            reference_optimizer.param_groups[0]["lr"] = lr_at_step[step]
        optimizer.zero_grad()
        value = criterion(model(x), y)
        model.backward(criterion.backward(), input_grad=False)
        optimizer.step()

        reference_optimizer.zero_grad()
        reference_value = reference_criterion(reference(torch.from_numpy(x)), torch.from_numpy(y))
        reference_value.backward()
        reference_optimizer.step()

        assert_allclose(value, reference_value.item(), rtol=rtol, err_msg=f"loss at step {step}")
        assert_same_parameters(model, reference, rtol, atol, what=f"after step {step + 1}:")


def check_loss_gradients(
    criterion: nn.Module,
    input: np.ndarray,
    target: np.ndarray,
    grad_output=None,
    rtol: float = 1e-6,
    atol: float = 1e-8,
) -> None:
    """Compare ``criterion.backward(grad_output)`` with central differences of
    ``sum(grad_output * criterion(input, target))`` with respect to ``input``, in float64."""
    assert input.dtype == np.float64, "finite differences need float64"
    weight = 1.0 if grad_output is None else grad_output

    def loss() -> float:
        return float(np.sum(np.asarray(criterion(input, target)) * weight))

    criterion(input, target)
    grad = criterion.backward(grad_output)
    assert grad.shape == input.shape
    assert_allclose(grad, numerical_grad(loss, input), rtol=rtol, atol=atol, err_msg="dL/dinput")


# --- jobs in threads ------------------------------------------------------------------


def wait_until(condition: Callable[[], object], timeout: float = 20.0, what: str = "condition"):
    """Poll ``condition()`` until it is truthy and return its value; fail the test after
    ``timeout`` seconds, naming ``what`` was awaited."""
    deadline = time.monotonic() + timeout
    while not (value := condition()):
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.01)
    return value


def start_in_thread(config: dict):
    """Run a ``TrainingJob`` for ``config`` in a thread: (job, its events so far, thread)."""
    from bpnet.engine import TrainingJob, parse_config

    events: list[dict] = []
    job = TrainingJob(parse_config(config))
    thread = threading.Thread(target=job.run, args=(events.append,))
    thread.start()
    return job, events, thread


class QuietSocketIO:
    """The part of Flask-SocketIO a ``webapp.jobs.JobManager`` uses, for tests that drive
    the manager directly: background tasks in threads, and emits that go nowhere."""

    def start_background_task(self, target, *args):
        thread = threading.Thread(target=target, args=args, daemon=True)
        thread.start()
        return thread

    def emit(self, *args, **kwargs):
        pass
