"""The Module API: parameters and their names, gradients, modes, dtypes, state dicts."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

import bpnet
from bpnet import nn


def mlp(**linear_kwargs) -> nn.Sequential:
    return nn.Sequential(
        nn.Linear(4, 5, **linear_kwargs),
        nn.ReLU(),
        nn.Linear(5, 3, **linear_kwargs),
        nn.Dropout(0.5),
        nn.Linear(3, 2, **linear_kwargs),
    )


def test_named_parameters_use_pytorch_keys_and_shapes():
    model = mlp()
    shapes = {name: p.shape for name, p in model.named_parameters()}
    assert shapes == {
        "0.weight": (5, 4),
        "0.bias": (5,),
        "2.weight": (3, 5),
        "2.bias": (3,),
        "4.weight": (2, 3),
        "4.bias": (2,),
    }
    assert list(shapes) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]


def test_named_parameters_of_nested_sequential_are_dotted():
    model = nn.Sequential(nn.Sequential(nn.Linear(2, 3), nn.Tanh()), nn.Linear(3, 1, bias=False))
    assert [name for name, _ in model.named_parameters()] == ["0.0.weight", "0.0.bias", "1.weight"]


def test_custom_module_finds_parameters_in_assignment_order_and_skips_private():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.scale = nn.Parameter(np.ones(3, np.float32))
            self.inner = nn.Linear(3, 2)
            self._cache = nn.Parameter(np.zeros(1))  # private: not a parameter
            self._helper = nn.Linear(2, 2)  # private: not a child

    block = Block()
    assert [name for name, _ in block.named_parameters()] == ["scale", "inner.weight", "inner.bias"]
    assert list(block.children()) == [block.inner]
    assert [type(m).__name__ for m in block.modules()] == ["Block", "Linear"]


def test_parameters_are_the_named_parameters_in_order():
    model = mlp()
    assert model.parameters() == [p for _, p in model.named_parameters()]
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())


def test_parameter_grad_is_none_until_a_backward_writes_its_shape_and_dtype(rng):
    # PyTorch 2's semantics (set_to_none): a gradient exists only once a backward made it
    model = mlp().eval()
    assert all(p.grad is None for p in model.parameters())
    model(rng.standard_normal((6, 4)).astype(np.float32))
    model.backward(np.ones((6, 2), np.float32))
    for p in model.parameters():
        assert p.grad.shape == p.data.shape
        assert p.grad.dtype == p.data.dtype == np.float32


def train_step_grads(model, x, upstream):
    model(x)
    model.backward(upstream)
    return [p.grad.copy() for p in model.parameters()]


def test_zero_grad_resets_every_gradient(rng):
    model = mlp().eval()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    train_step_grads(model, x, np.ones((6, 2), np.float32))
    assert any(p.grad.any() for p in model.parameters())
    model.zero_grad()
    assert all(p.grad is None for p in model.parameters())
    train_step_grads(model, x, np.ones((6, 2), np.float32))
    model.zero_grad(set_to_none=False)
    assert not any(p.grad.any() for p in model.parameters())


def test_gradients_accumulate_across_two_backward_calls(rng):
    model = mlp().eval()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    upstream = rng.standard_normal((6, 2)).astype(np.float32)
    once = train_step_grads(model, x, upstream)
    twice = train_step_grads(model, x, upstream)
    for g1, g2 in zip(once, twice):
        assert_allclose(g2, 2 * g1, rtol=1e-6)


def test_train_and_eval_return_self_and_reach_nested_children():
    inner = nn.Sequential(nn.Linear(2, 2), nn.Dropout(0.5))
    model = nn.Sequential(inner, nn.Dropout(0.3))
    assert model.training and inner[1].training
    assert model.eval() is model
    assert not any(m.training for m in model.modules())
    assert model.train() is model
    assert all(m.training for m in model.modules())
    assert model.train(False) is model
    assert not inner[1].training


def test_eval_mode_makes_dropout_inside_a_model_the_identity(rng):
    model = mlp()
    x = rng.standard_normal((8, 4)).astype(np.float32)
    model.eval()
    assert_array_equal(model(x), model(x))
    model.train()
    assert not np.array_equal(model(x), model(x))


def test_state_dict_keys_values_and_shared_memory():
    model = mlp()
    state = model.state_dict()
    assert list(state) == [name for name, _ in model.named_parameters()]
    for name, p in model.named_parameters():
        assert np.shares_memory(state[name], p.data)  # as in PyTorch: not a copy


def test_load_state_dict_copies_values_into_the_same_arrays():
    source, target = mlp(), mlp()
    arrays_before = [p.data for p in target.parameters()]
    result = target.load_state_dict(source.state_dict())
    assert result.missing_keys == [] and result.unexpected_keys == []
    for (name, p), array in zip(target.named_parameters(), arrays_before):
        assert p.data is array  # an optimizer holding these Parameters keeps working
        assert_array_equal(p.data, source.state_dict()[name])
        assert not np.shares_memory(p.data, source.state_dict()[name])


def test_load_state_dict_casts_to_the_parameter_dtype():
    model = nn.Linear(3, 2)
    model.load_state_dict({"weight": np.ones((2, 3)), "bias": np.arange(2)})
    assert model.weight.dtype == np.float32 and model.bias.dtype == np.float32
    assert_array_equal(model.bias.data, [0.0, 1.0])


def test_load_state_dict_strict_lists_all_missing_and_unexpected_keys():
    model = mlp()
    state = dict(model.state_dict())
    del state["2.bias"], state["4.weight"]
    state["9.weight"] = np.zeros(3)
    with pytest.raises(KeyError) as info:
        model.load_state_dict(state)
    message = str(info.value)
    assert "Missing key(s): 2.bias, 4.weight" in message
    assert "Unexpected key(s): 9.weight" in message


def test_load_state_dict_strict_error_leaves_the_model_unchanged():
    model = mlp()
    before = {k: v.copy() for k, v in model.state_dict().items()}
    state = {k: v + 1 for k, v in model.state_dict().items()}
    state["extra"] = np.zeros(1)
    with pytest.raises(KeyError):
        model.load_state_dict(state)
    for name, value in model.state_dict().items():
        assert_array_equal(value, before[name])


def test_load_state_dict_non_strict_returns_the_key_lists_and_loads_the_rest():
    model = mlp()
    state = {"0.weight": np.full((5, 4), 0.5), "extra.bias": np.zeros(2)}
    result = model.load_state_dict(state, strict=False)
    assert result.missing_keys == ["0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert result.unexpected_keys == ["extra.bias"]
    missing, unexpected = result  # a NamedTuple, like torch's _IncompatibleKeys
    assert (missing, unexpected) == (result.missing_keys, result.unexpected_keys)
    assert_array_equal(model[0].weight.data, np.full((5, 4), 0.5, np.float32))


def test_load_state_dict_shape_mismatch_names_the_key_and_both_shapes():
    model = mlp()
    state = dict(model.state_dict())
    state["2.weight"] = np.zeros((5, 3), np.float32)
    with pytest.raises(ValueError, match=r"2\.weight.*\(5, 3\).*\(3, 5\)"):
        model.load_state_dict(state)


def test_backward_without_input_grad_returns_none_and_the_same_parameter_grads(rng):
    model = mlp().eval()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    upstream = rng.standard_normal((6, 2)).astype(np.float32)
    model(x)
    input_grad = model.backward(upstream, input_grad=True)
    assert input_grad.shape == x.shape
    full = [p.grad.copy() for p in model.parameters()]
    model.zero_grad()
    model(x)
    assert model.backward(upstream, input_grad=False) is None
    for (name, p), expected in zip(model.named_parameters(), full):
        assert_array_equal(p.grad, expected, err_msg=name)


def test_parameters_are_float32_by_default_and_float64_input_is_cast():
    model = mlp().eval()
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    y = model(np.ones((2, 4), dtype=np.float64))
    assert y.dtype == np.float32


def test_double_casts_parameters_and_computes_in_float64():
    model = mlp().eval()
    assert model.double() is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    assert model(np.ones((2, 4), np.float32)).dtype == np.float64
    assert model.float() is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}


def test_to_casts_accumulated_gradients_instead_of_dropping_them(rng):
    model = mlp().eval()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    grads = train_step_grads(model, x, np.ones((6, 2), np.float32))
    model.double()
    for p, g in zip(model.parameters(), grads):
        assert p.grad.dtype == np.float64
        assert_array_equal(p.grad, g)  # as torch's Module.double() does


def test_linear_dtype_float64_builds_float64_parameters():
    layer = nn.Linear(3, 2, dtype=np.float64)
    assert layer.weight.dtype == layer.bias.dtype == np.float64
    assert layer(np.ones((1, 3), np.float32)).dtype == np.float64


def test_manual_seed_makes_initialisation_repeat_exactly():
    bpnet.manual_seed(42)
    first = mlp().state_dict()
    bpnet.manual_seed(42)
    second = mlp().state_dict()
    bpnet.manual_seed(43)
    third = mlp().state_dict()
    for name in first:
        assert_array_equal(first[name], second[name])
    assert not np.array_equal(first["0.weight"], third["0.weight"])


def test_manual_seed_returns_the_new_default_generator():
    generator = bpnet.manual_seed(7)
    assert generator is bpnet.default_generator()
    assert generator.random() == np.random.default_rng(7).random()


def test_repr_matches_pytorch_layout():
    model = nn.Sequential(nn.Linear(4, 3), nn.ReLU(), nn.Linear(3, 2, bias=False))
    assert repr(model) == (
        "Sequential(\n"
        "  (0): Linear(in_features=4, out_features=3, bias=True)\n"
        "  (1): ReLU()\n"
        "  (2): Linear(in_features=3, out_features=2, bias=False)\n"
        ")"
    )


def test_base_module_forward_and_backward_say_what_is_missing():
    class Empty(nn.Module):
        pass

    with pytest.raises(NotImplementedError, match="Empty does not define forward"):
        Empty()(np.zeros(1))
    with pytest.raises(NotImplementedError, match="Empty does not define backward"):
        Empty().backward(np.zeros(1))


def test_load_state_dict_of_something_that_is_not_a_dict_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"dict of arrays.*got list"):
        mlp().load_state_dict([1, 2])


def test_load_state_dict_errors_are_runtime_errors_like_torch():
    with pytest.raises(RuntimeError, match="Missing key"):
        mlp().load_state_dict({})
    state = dict(mlp().state_dict())
    state["0.weight"] = np.zeros((2, 2))
    with pytest.raises(RuntimeError, match=r"size mismatch for 0\.weight"):
        mlp().load_state_dict(state)


def test_to_cpu_is_a_no_op_and_other_devices_or_none_are_refused():
    model = mlp()
    assert model.to("cpu") is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float32)}
    assert model.to("cpu", np.float64) is model
    assert {p.dtype for p in model.parameters()} == {np.dtype(np.float64)}
    with pytest.raises(ValueError, match=r"CPU only.*'cuda'"):
        model.to("cuda")
    with pytest.raises(TypeError, match=r"float dtype.*None"):
        model.to(None)
    with pytest.raises(TypeError, match="float dtype"):
        model.to(np.int64)


def test_to_accepts_a_torch_cpu_device(torch):
    model = mlp()
    assert model.to(torch.device("cpu")) is model
    with pytest.raises(ValueError, match="CPU only"):
        model.to(torch.device("meta"))


def test_a_gradient_kept_from_an_earlier_step_is_not_overwritten_by_the_next(rng):
    # backward reuses the array zero_grad forgot, but only when nobody else holds it
    model = mlp().eval()
    x = rng.standard_normal((6, 4)).astype(np.float32)
    kept = train_step_grads(model, x, np.ones((6, 2), np.float32))
    first = model[0].weight.grad
    values = first.copy()
    model.zero_grad()
    train_step_grads(model, x, 2 * np.ones((6, 2), np.float32))
    assert model[0].weight.grad is not first
    assert_array_equal(first, values)
    assert_allclose(model[0].weight.grad, 2 * kept[0], rtol=1e-6)
