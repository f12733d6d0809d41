"""The automatic backward of modules whose forward is a chain of submodule calls, a module
used twice in one forward, and a gradient that belongs to an earlier forward."""

import numpy as np
import pytest
from helpers import check_gradients
from numpy.testing import assert_allclose

import bpnet
from bpnet import nn
from bpnet.errors import GraphError


class Net(nn.Module):
    """A PyTorch-style custom module: no backward, one ReLU reused after each layer."""

    def __init__(self):
        super().__init__()
        self.fc1 = nn.Linear(4, 6, dtype=np.float64)
        self.relu = nn.ReLU()
        self.fc2 = nn.Linear(6, 5, dtype=np.float64)
        self.fc3 = nn.Linear(5, 3, dtype=np.float64)

    def forward(self, x):
        x = self.relu(self.fc1(x))
        x = self.relu(self.fc2(x))
        return self.fc3(x)


def torch_net(torch, model):
    reference = torch.nn.Sequential()
    for name in ("fc1", "fc2", "fc3"):
        layer = getattr(model, name)
        mirror = torch.nn.Linear(layer.in_features, layer.out_features, dtype=torch.float64)
        mirror.load_state_dict(
            {k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()}
        )
        reference.add_module(name, mirror)
    return reference


def test_custom_module_without_backward_matches_finite_differences(rng):
    check_gradients(Net(), rng.standard_normal((5, 4)))


def test_custom_module_without_backward_matches_torch_in_float64(torch, rng):
    model = Net()
    reference = torch_net(torch, model)
    x = rng.standard_normal((7, 4))
    y = rng.integers(0, 3, 7)
    criterion = nn.CrossEntropyLoss()
    loss = criterion(model(x), y)
    assert model.backward(criterion.backward()) is None  # like loss.backward()

    x_t = torch.tensor(x, requires_grad=True)
    h = torch.relu(reference.fc2(torch.relu(reference.fc1(x_t))))
    loss_t = torch.nn.functional.cross_entropy(reference.fc3(h), torch.from_numpy(y))
    loss_t.backward()
    assert_allclose(loss, loss_t.item(), rtol=1e-12)
    for name, p in model.named_parameters():
        theirs = dict(reference.named_parameters())[name].grad.numpy()
        assert_allclose(p.grad, theirs, rtol=1e-10, atol=1e-12, err_msg=name)


def test_custom_module_input_grad_is_returned_only_when_asked(rng):
    model = Net()
    x = rng.standard_normal((2, 4))
    model(x)
    assert model.backward(np.ones((2, 3))) is None
    model(x)
    assert model.backward(np.ones((2, 3)), input_grad=True).shape == (2, 4)


def test_module_used_twice_in_a_sequential_gets_both_gradients_like_torch(torch, rng):
    lin = nn.Linear(3, 3, dtype=np.float64)
    model = nn.Sequential(lin, nn.Tanh(), lin)
    assert len(model.parameters()) == 2  # the shared weight once: stepped once
    x = rng.standard_normal((4, 3))
    upstream = rng.standard_normal((4, 3))
    model(x)
    input_grad = model.backward(upstream, input_grad=True)

    mirror = torch.nn.Linear(3, 3, dtype=torch.float64)
    mirror.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in lin.state_dict().items()})
    x_t = torch.tensor(x, requires_grad=True)
    mirror(torch.tanh(mirror(x_t))).backward(torch.from_numpy(upstream))
    assert_allclose(lin.weight.grad, mirror.weight.grad.numpy(), rtol=1e-12)
    assert_allclose(lin.bias.grad, mirror.bias.grad.numpy(), rtol=1e-12)
    assert_allclose(input_grad, x_t.grad.numpy(), rtol=1e-12)


def test_module_used_twice_matches_finite_differences(rng):
    lin = nn.Linear(3, 3, dtype=np.float64)
    check_gradients(nn.Sequential(lin, nn.Tanh(), lin, nn.Sigmoid()), rng.standard_normal((4, 3)))


def test_named_parameters_list_a_shared_parameter_once_but_state_dict_keeps_both_names():
    a = nn.Linear(2, 2)
    b = nn.Linear(2, 2)
    b.weight = a.weight  # weight tying, as in PyTorch
    model = nn.Sequential(a, b)
    assert [name for name, _ in model.named_parameters()] == ["0.weight", "0.bias", "1.bias"]
    assert list(model.state_dict()) == ["0.weight", "0.bias", "1.weight", "1.bias"]


def test_reuse_under_a_module_with_its_own_backward_is_a_clear_error(rng):
    class Manual(nn.Module):
        def __init__(self):
            super().__init__()
            self.lin = nn.Linear(3, 3)

        def forward(self, x):
            return self.lin(self.lin(x))

        def backward(self, grad, input_grad=False):
            return self.lin.backward(grad, input_grad)

    with pytest.raises(GraphError, match=r"called twice in one forward pass.*b.weight = a.weight"):
        Manual()(rng.standard_normal((2, 3)))


@pytest.mark.parametrize(
    "forward, message",
    [
        (lambda self, x: self.b(self.a(x)) + self.a.weight.data[0, 0], "returned something other"),
        (lambda self, x: self.b(np.tanh(self.a(x))), "something other than the output"),
        (lambda self, x: self.a(x) + self.b(x), "something other than the output"),
    ],
    ids=["arithmetic on the output", "numpy between calls", "two branches"],
)
def test_a_forward_that_is_not_a_chain_raises_at_backward_saying_to_write_backward(
    rng, forward, message
):
    class Branchy(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = nn.Linear(3, 3)
            self.b = nn.Linear(3, 3)

    Branchy.forward = forward
    model = Branchy()
    out = model(rng.standard_normal((2, 3)).astype(np.float32))  # forward itself works
    with pytest.raises(GraphError, match=message) as info:
        model.backward(np.ones_like(out))
    assert "write Branchy.backward" in str(info.value)


def test_a_custom_module_with_no_submodule_calls_says_to_write_backward():
    class Square(nn.Module):
        def forward(self, x):
            return x * x

    module = Square()
    module(np.ones(3))
    with pytest.raises(GraphError, match="called no submodule"):
        module.backward(np.ones(3))


def test_second_forward_before_backward_is_refused_instead_of_giving_its_gradient(rng):
    model = nn.Sequential(nn.Linear(3, 2))
    criterion = nn.CrossEntropyLoss()
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = model(x1)
    model(x2)  # e.g. a forgotten evaluation pass
    criterion(out, np.array([0, 1, 0, 1]))
    with pytest.raises(GraphError, match=r"earlier forward.*no_grad"):
        model.backward(criterion.backward())


def test_a_forward_under_no_grad_in_between_keeps_the_gradient_of_the_first(rng):
    model = nn.Sequential(nn.Linear(3, 2, dtype=np.float64))
    twin = nn.Sequential(nn.Linear(3, 2, dtype=np.float64))
    twin.load_state_dict(model.state_dict())
    criterion, y = nn.CrossEntropyLoss(), np.array([0, 1, 0, 1])
    x1, x2 = rng.standard_normal((4, 3)), rng.standard_normal((4, 3))
    out = model(x1)
    with bpnet.no_grad():
        model(x2)
    criterion(out, y)
    model.backward(criterion.backward())
    criterion(twin(x1), y)
    twin.backward(criterion.backward())
    assert_allclose(model[0].weight.grad, twin[0].weight.grad)


def test_backward_before_any_forward_is_a_clear_error():
    for module in (nn.ReLU(), nn.Sigmoid(), nn.Tanh(), nn.Softmax(), nn.Flatten(), nn.Dropout()):
        with pytest.raises(GraphError, match="call forward"):
            module.backward(np.ones((2, 2)))
    for criterion in (nn.CrossEntropyLoss(), nn.MSELoss()):
        with pytest.raises(GraphError, match="call forward"):
            criterion.backward()
    with pytest.raises(GraphError, match="call forward"):
        nn.Sequential(nn.Linear(2, 2)).backward(np.ones((1, 2)))


def test_a_layer_written_with_the_old_backward_signature_still_works_in_a_sequential(rng):
    class Double(nn.Module):
        def forward(self, x):
            return 2 * x

        def backward(self, grad):
            return 2 * grad

    model = nn.Sequential(nn.Linear(3, 3, dtype=np.float64), Double())
    check_gradients(model, rng.standard_normal((2, 3)))


def test_named_modules_children_apply_and_add_module_follow_torch():
    model = Net()
    model.add_module("extra", nn.Tanh())
    assert [name for name, _ in model.named_modules()] == ["", "fc1", "relu", "fc2", "fc3", "extra"]
    assert [type(m).__name__ for m in model.children()] == [
        "Linear",
        "ReLU",
        "Linear",
        "Linear",
        "Tanh",
    ]
    visited = []
    assert model.apply(lambda m: visited.append(type(m).__name__)) is model
    assert visited == ["Linear", "ReLU", "Linear", "Linear", "Tanh", "Net"]  # children first
    with pytest.raises(KeyError, match="identifier"):
        model.add_module("not a name", nn.ReLU())


def test_module_list_names_parameters_like_torch(torch):
    class Stack(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList(nn.Linear(2, 2) for _ in range(3))

        def forward(self, x):
            for layer in self.layers:
                x = layer(x)
            return x

    class TorchStack(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = torch.nn.ModuleList(torch.nn.Linear(2, 2) for _ in range(3))

    ours = Stack()
    assert list(ours.state_dict()) == list(TorchStack().state_dict())
    ours(np.ones((1, 2), np.float32))
    ours.backward(np.ones((1, 2), np.float32))
    assert all(p.grad is not None for p in ours.parameters())


def test_parameters_answer_next_like_torchs_generator_and_count_with_numel():
    model = nn.Sequential(nn.Linear(3, 2))
    assert next(model.parameters()) is model[0].weight
    assert next(iter(model.parameters())) is model[0].weight
    assert sum(p.numel() for p in model.parameters()) == 3 * 2 + 2
