"""Conv2d: shapes, initialisation, gradients by finite differences, PyTorch parity (one layer,
20 SGD steps of a small network), and a LeNet state dict that loads into torch and back."""

import math

import numpy as np
import pytest
from helpers import check_gradients, torch_module
from numpy.testing import assert_allclose, assert_array_equal

import bpnet
from bpnet import nn, optim
from bpnet.errors import GraphError

# (in_channels, out_channels, kernel_size, stride, padding, input (N, C, H, W)): odd sizes,
# strides that do not divide the input, non-square kernels, strides and paddings
CASES = {
    "3x3 pad 1": (2, 3, 3, 1, 1, (2, 2, 7, 6)),
    "5x5 no pad": (1, 2, 5, 1, 0, (3, 1, 9, 8)),
    "2x3 stride 2": (3, 2, (2, 3), 2, 0, (2, 3, 7, 9)),
    "3x2 stride (2,3) pad (1,2)": (2, 4, (3, 2), (2, 3), (1, 2), (2, 2, 8, 7)),
    "1x1": (3, 5, 1, 1, 0, (2, 3, 4, 5)),
    "4x4 stride 3 pad 2": (1, 3, 4, 3, 2, (1, 1, 10, 11)),
}


def conv_case(name, bias=True, dtype=np.float64):
    in_channels, out_channels, kernel, stride, padding, shape = CASES[name]
    layer = nn.Conv2d(in_channels, out_channels, kernel, stride, padding, bias=bias, dtype=dtype)
    return layer, shape


def torch_mirror(module, torch):
    """The equivalent torch module (Conv2d and pooling included), with module's weights."""
    if isinstance(module, nn.Sequential):
        return torch.nn.Sequential(*(torch_mirror(m, torch) for m in module))
    if isinstance(module, nn.MaxPool2d):
        return torch.nn.MaxPool2d(module.kernel_size, module.stride, module.padding)
    if isinstance(module, nn.AvgPool2d):
        return torch.nn.AvgPool2d(module.kernel_size, module.stride, module.padding)
    if not isinstance(module, nn.Conv2d):
        return torch_module(module, torch)
    mirror = torch.nn.Conv2d(
        module.in_channels, module.out_channels, module.kernel_size, module.stride,
        module.padding, bias=module.bias is not None,
        dtype=torch.float64 if module.weight.dtype == np.float64 else torch.float32,
    )  # fmt: skip
    mirror.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in module.state_dict().items()})
    return mirror


def test_conv_weight_is_out_in_kh_kw_and_output_size_follows_the_formula():
    layer = nn.Conv2d(3, 8, (5, 3), stride=2, padding=(2, 1))
    assert layer.weight.shape == (8, 3, 5, 3)
    assert layer.bias.shape == (8,)
    assert [name for name, _ in layer.named_parameters()] == ["weight", "bias"]
    # H_out = (11 + 2*2 - 5) // 2 + 1 = 6, W_out = (10 + 2*1 - 3) // 2 + 1 = 5
    assert layer(np.zeros((4, 3, 11, 10))).shape == (4, 8, 6, 5)
    assert "kernel_size=(5, 3), stride=(2, 2), padding=(2, 1)" in repr(layer)


def test_conv_init_is_uniform_within_one_over_sqrt_fan_in():
    layer = nn.Conv2d(4, 500, 3)
    bound = 1 / math.sqrt(4 * 3 * 3)
    for values in (layer.weight.data, layer.bias.data):
        assert np.abs(values).max() <= bound
        assert np.abs(values).max() > 0.98 * bound  # spread over the whole interval
    assert_allclose(layer.weight.data.var(), bound**2 / 3, rtol=0.05)


def test_conv_generator_argument_makes_init_repeat():
    first = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(5))
    second = nn.Conv2d(2, 3, 3, generator=np.random.default_rng(5))
    assert_array_equal(first.weight.data, second.weight.data)
    assert_array_equal(first.bias.data, second.bias.data)


def test_conv_forward_is_the_sum_over_each_window(rng):
    layer = nn.Conv2d(2, 3, (2, 3), stride=(1, 2), dtype=np.float64)
    x = rng.standard_normal((2, 2, 4, 7))
    y = layer(x)
    w, b = layer.weight.data, layer.bias.data
    for n, o, h, col in np.ndindex(y.shape):  # the definition, one output pixel at a time
        window = x[n, :, h : h + 2, 2 * col : 2 * col + 3]
        assert_allclose(y[n, o, h, col], np.sum(w[o] * window) + b[o], rtol=1e-12)


@pytest.mark.parametrize("bias", [True, False], ids=["bias", "no bias"])
@pytest.mark.parametrize("name", list(CASES))
def test_conv_grad_matches_finite_difference(rng, name, bias):
    layer, shape = conv_case(name, bias)
    check_gradients(layer, rng.standard_normal(shape))


def test_conv_unbatched_input_grad_matches_finite_difference(rng):
    layer, shape = conv_case("3x2 stride (2,3) pad (1,2)")
    check_gradients(layer, rng.standard_normal(shape[1:]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", list(CASES))
def test_conv_forward_and_backward_match_torch(torch, rng, name, dtype):
    layer, shape = conv_case(name, dtype=dtype)
    reference = torch_mirror(layer, torch)
    x = rng.standard_normal(shape).astype(dtype)
    y = layer(x)
    upstream = rng.standard_normal(y.shape).astype(dtype)
    input_grad = layer.backward(upstream)
    x_t = torch.tensor(x, requires_grad=True)
    y_t = reference(x_t)
    y_t.backward(torch.from_numpy(upstream))

    tolerance = (
        {"rtol": 1e-12, "atol": 1e-12} if dtype == np.float64 else {"rtol": 1e-5, "atol": 1e-5}
    )
    assert y.dtype == input_grad.dtype == dtype
    assert_allclose(y, y_t.detach().numpy(), **tolerance)
    assert_allclose(input_grad, x_t.grad.numpy(), **tolerance)
    assert_allclose(layer.weight.grad, reference.weight.grad.numpy(), **tolerance)
    assert_allclose(layer.bias.grad, reference.bias.grad.numpy(), **tolerance)


def small_convnet(dtype=np.float64):
    return nn.Sequential(
        nn.Conv2d(2, 4, 3, stride=2, padding=1, dtype=dtype), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 5, (2, 3), padding=(1, 0), dtype=dtype), nn.Tanh(),
        nn.AvgPool2d(2, stride=1), nn.Flatten(), nn.Linear(5 * 3 * 1, 3, dtype=dtype),
    )  # fmt: skip


def test_small_convnet_trains_like_torch_for_20_sgd_steps(torch):
    bpnet.manual_seed(0)
    model = small_convnet()
    reference = torch_mirror(model, torch)
    data = np.random.default_rng(1)
    # (8, 2, 13, 15) -> (8, 4, 7, 8) -> (8, 4, 3, 4) -> (8, 5, 4, 2) -> (8, 5, 3, 1) -> (8, 3)
    x = data.standard_normal((8, 2, 13, 15))
    y = data.integers(0, 3, 8)
    criterion, reference_criterion = nn.CrossEntropyLoss(), torch.nn.CrossEntropyLoss()
    optimizer = optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    reference_optimizer = torch.optim.SGD(reference.parameters(), lr=0.1, momentum=0.9)
    for step in range(20):
        optimizer.zero_grad()
        loss = criterion(model(x), y)
        model.backward(criterion.backward(), input_grad=False)
        optimizer.step()
        reference_optimizer.zero_grad()
        reference_loss = reference_criterion(reference(torch.from_numpy(x)), torch.from_numpy(y))
        reference_loss.backward()
        reference_optimizer.step()
        assert_allclose(loss, reference_loss.item(), rtol=1e-10, err_msg=f"loss at step {step}")
        for name, p in reference.named_parameters():
            assert_allclose(model.state_dict()[name], p.detach().numpy(), rtol=1e-10,
                            atol=1e-12, err_msg=f"{name} after step {step + 1}")  # fmt: skip
    assert loss < 0.5 * criterion(small_convnet()(x), y)  # it did learn something


def lenet():
    return nn.Sequential(
        nn.Conv2d(1, 8, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 5), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
        nn.Linear(400, 120), nn.ReLU(), nn.Linear(120, 10),
    )  # fmt: skip


def test_lenet_state_dict_loads_into_torch_sequential_and_back(torch, rng):
    model = lenet()
    assert list(model.state_dict()) == [
        "0.weight", "0.bias", "3.weight", "3.bias", "7.weight", "7.bias", "9.weight", "9.bias",
    ]  # fmt: skip
    T = torch.nn
    reference = T.Sequential(
        T.Conv2d(1, 8, 5, padding=2), T.ReLU(), T.MaxPool2d(2),
        T.Conv2d(8, 16, 5), T.ReLU(), T.MaxPool2d(2), T.Flatten(),
        T.Linear(400, 120), T.ReLU(), T.Linear(120, 10),
    )  # fmt: skip
    reference.load_state_dict(
        {k: torch.from_numpy(v.copy()) for k, v in model.state_dict().items()}
    )
    x = rng.random((4, 1, 28, 28), dtype=np.float32)
    with torch.no_grad():
        assert_allclose(model(x), reference(torch.from_numpy(x)).numpy(), rtol=1e-4, atol=1e-5)

    back = lenet()  # fresh weights, then torch's
    back.load_state_dict({k: v.numpy() for k, v in reference.state_dict().items()})
    for name, value in model.state_dict().items():
        assert_array_equal(back.state_dict()[name], value)


def test_conv_input_grad_false_returns_none_and_the_same_weight_grads(rng):
    layer, shape = conv_case("3x3 pad 1")
    x = rng.standard_normal(shape)
    upstream = rng.standard_normal(layer(x).shape)
    layer.backward(upstream)
    weight_grad, bias_grad = layer.weight.grad.copy(), layer.bias.grad.copy()
    layer.zero_grad()
    layer(x)
    assert layer.backward(upstream, input_grad=False) is None
    assert_array_equal(layer.weight.grad, weight_grad)
    assert_array_equal(layer.bias.grad, bias_grad)


def test_conv_gradients_accumulate_and_start_from_none(rng):
    layer, shape = conv_case("2x3 stride 2")
    x = rng.standard_normal(shape)
    upstream = rng.standard_normal(layer(x).shape)
    layer.backward(upstream)
    once = layer.weight.grad.copy()
    layer(x)
    layer.backward(upstream)
    assert_allclose(layer.weight.grad, 2 * once, rtol=1e-12)
    layer.weight.grad = layer.bias.grad = None  # what zero_grad(set_to_none=True) leaves
    layer(x)
    layer.backward(upstream)
    assert_allclose(layer.weight.grad, once, rtol=1e-12)


def test_conv_casts_input_to_the_weight_dtype():
    assert nn.Conv2d(1, 2, 3)(np.ones((1, 1, 4, 4), np.float64)).dtype == np.float32
    assert nn.Conv2d(1, 2, 3)(np.ones((1, 1, 4, 4), np.uint8)).dtype == np.float32


@pytest.mark.parametrize(
    ("shape", "expected"),
    [((2, 2, 8, 8), r"\(N, 3, H, W\).*\(2, 2, 8, 8\)"), ((8, 8), r"got shape \(8, 8\)")],
)
def test_conv_wrong_input_shape_names_the_layer_and_the_shapes(shape, expected):
    with pytest.raises(ValueError, match=r"Conv2d\(3, 4, kernel_size=\(3, 3\)") as info:
        nn.Conv2d(3, 4, 3)(np.zeros(shape))
    assert info.match(expected)


def test_conv_input_smaller_than_the_kernel_is_rejected():
    with pytest.raises(ValueError, match=r"\(1, 1, 3, 3\).*smaller than the kernel \(5, 5\)"):
        nn.Conv2d(1, 1, 5)(np.zeros((1, 1, 3, 3)))


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"kernel_size": 0}, "kernel_size"),
        ({"kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"kernel_size": 3, "stride": 0}, "stride"),
        ({"kernel_size": 3, "padding": -1}, "padding"),
        ({"kernel_size": 2.5}, "kernel_size"),
    ],
)
def test_conv_bad_window_arguments_name_the_field(arguments, field):
    with pytest.raises(ValueError, match=f"Conv2d {field} must be an int or a pair of ints"):
        nn.Conv2d(1, 1, **arguments)


def test_conv_backward_checks_the_gradient_shape():
    layer = nn.Conv2d(1, 2, 3)
    layer(np.zeros((4, 1, 5, 5)))
    with pytest.raises(ValueError, match=r"\(4, 2, 3, 3\).*\(4, 2, 5, 5\)"):
        layer.backward(np.zeros((4, 2, 5, 5)))
    with pytest.raises(GraphError, match="forward"):
        nn.Conv2d(1, 2, 3).backward(np.zeros((1, 2, 1, 1)))


def test_conv_frozen_weight_gets_no_gradient_and_the_bias_still_does(rng):
    layer, shape = conv_case("3x3 pad 1")
    layer.weight.requires_grad_(False)
    layer.zero_grad()
    x = rng.standard_normal(shape)
    layer.backward(rng.standard_normal(layer(x).shape))
    assert layer.weight.grad is None
    assert layer.bias.grad is not None
