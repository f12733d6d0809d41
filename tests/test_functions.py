"""Tests for the function data sets: shapes and dtypes, seeding, noise on training targets only,
the normalisation and its inverse, the grid's layout, the presets, and argument checking."""

import numpy as np
import pytest
from numpy.testing import assert_allclose, assert_array_equal

from bpnet.datasets import CURVE_PRESETS, SURFACE_PRESETS, FunctionDataset, curve, surface
from bpnet.errors import ExpressionError
from bpnet.expr import compile_expression


def test_curve_has_the_documented_shapes_and_dtypes():
    d = curve("sin(x)", n_train=50, n_val=20, grid=30)
    assert isinstance(d, FunctionDataset)
    assert d.x_train.shape == (50, 1) and d.y_train.shape == (50, 1)
    assert d.x_val.shape == (20, 1) and d.y_val.shape == (20, 1)
    for array in (d.x_train, d.y_train, d.x_val, d.y_val, d.grid_inputs):
        assert array.dtype == np.float32
    assert d.train_points.inputs.shape == (50, 1) and d.train_points.targets.shape == (50,)
    assert d.val_points.inputs.shape == (20, 1) and d.val_points.targets.shape == (20,)
    assert d.grid_x.shape == (30,) and d.grid_true.shape == (30,) and d.grid_y is None
    assert d.grid_inputs.shape == (30, 1)
    assert d.input_mean.shape == (1,) and d.input_std.shape == (1,)
    assert_allclose(d.grid_x[[0, -1]], [-3.0, 3.0])
    assert_allclose(d.grid_true, np.sin(d.grid_x))


def test_surface_grid_rows_follow_grid_y_and_inputs_are_row_major():
    d = surface("x + 10*y", x_range=(0, 1), y_range=(-1, 1), n_train=40, n_val=10, grid=5)
    assert d.x_train.shape == (40, 2) and d.y_train.shape == (40, 1)
    assert d.grid_x.shape == (5,) and d.grid_y.shape == (5,) and d.grid_true.shape == (5, 5)
    assert d.grid_inputs.shape == (25, 2) and d.grid_inputs.dtype == np.float32
    assert_allclose(d.grid_true[2, 3], d.grid_x[3] + 10 * d.grid_y[2])
    raw = d.grid_inputs * d.input_std + d.input_mean  # back to user units
    assert_allclose(raw[:, 0] + 10 * raw[:, 1], d.grid_true.ravel(), atol=1e-5)


def test_points_are_uniform_within_the_ranges():
    d = surface("x*y", x_range=(1, 2), y_range=(-5, -4), n_train=500, n_val=100)
    for inputs in (d.train_points.inputs, d.val_points.inputs):
        assert np.all((inputs[:, 0] >= 1) & (inputs[:, 0] <= 2))
        assert np.all((inputs[:, 1] >= -5) & (inputs[:, 1] <= -4))
    assert abs(d.train_points.inputs[:, 0].mean() - 1.5) < 0.05


def test_same_seed_gives_identical_arrays_and_another_seed_does_not():
    a, b = surface("sin(x)*cos(y)", seed=7), surface("sin(x)*cos(y)", seed=7)
    for name in ("x_train", "y_train", "x_val", "y_val", "grid_inputs"):
        assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.x_train, surface("sin(x)*cos(y)", seed=8).x_train)


def test_a_generator_can_be_passed_as_the_seed():
    a = curve("x", seed=np.random.default_rng(3))
    assert_array_equal(a.x_train, curve("x", seed=np.random.default_rng(3)).x_train)


def test_noise_is_added_to_training_targets_only():
    d = curve("x^3 - x", noise=0.1, n_train=2000, n_val=500)
    f = compile_expression("x^3 - x")
    inputs, targets = d.train_points
    true = f(inputs[:, 0])
    assert_allclose(np.std(targets - true), 0.1 * np.std(true), rtol=0.1)
    assert_array_equal(d.val_points.targets, f(d.val_points.inputs[:, 0]))


def test_zero_noise_gives_exact_training_targets():
    d = curve("abs(x)", noise=0.0)
    assert_array_equal(d.train_points.targets, np.abs(d.train_points.inputs[:, 0]))


def test_normalisation_round_trips_and_is_a_z_score():
    d = surface("exp(-(x^2 + y^2)) + 3", n_train=800)
    assert_allclose(d.x_train.mean(axis=0), 0, atol=1e-5)
    assert_allclose(d.x_train.std(axis=0), 1, atol=1e-5)
    assert_allclose(d.y_train.mean(), 0, atol=1e-5)
    assert_allclose(d.y_train.std(), 1, atol=1e-5)
    assert_array_equal(d.normalize_inputs(d.train_points.inputs), d.x_train)
    assert_allclose(d.denormalize_targets(d.y_train)[:, 0], d.train_points.targets, rtol=1e-6)
    assert d.denormalize_targets(d.y_val).dtype == np.float64


def test_curve_normalize_inputs_accepts_a_flat_array():
    d = curve("x")
    assert_array_equal(d.normalize_inputs(d.grid_x), d.grid_inputs)


@pytest.mark.parametrize("text", ["3", "sin(x)^2 + cos(x)^2"])
def test_constant_function_does_not_divide_by_zero(text):
    d = curve(text, noise=0.1)
    assert d.target_std == 1.0
    assert np.all(np.isfinite(d.y_train)) and np.all(np.abs(d.y_train) < 1e-6)


def test_expression_object_is_accepted_and_a_curve_can_be_a_surface():
    assert_allclose(curve(compile_expression("2*x")).grid_true, 2 * np.linspace(-3, 3, 200))
    d = surface(compile_expression("x^2"), grid=4)
    assert_allclose(d.grid_true[0], d.grid_x**2)
    with pytest.raises(ValueError, match="function of x"):
        curve(compile_expression("x*y", ("x", "y")))


def test_expression_not_finite_on_the_domain_names_the_point():
    with pytest.raises(ExpressionError, match=r"log\(x\) is not finite at x = -3"):
        curve("log(x)")
    assert np.all(np.isfinite(curve("log(x)", x_range=(0.1, 3)).y_train))


@pytest.mark.parametrize(("name", "text"), list(CURVE_PRESETS.items()))
def test_every_curve_preset_is_finite_on_the_default_range(name, text):
    d = curve(text)
    assert np.all(np.isfinite(d.grid_true)) and np.all(np.isfinite(d.y_train))


@pytest.mark.parametrize(("name", "text"), list(SURFACE_PRESETS.items()))
def test_every_surface_preset_is_finite_on_the_default_range(name, text):
    d = surface(text)
    assert np.all(np.isfinite(d.grid_true)) and np.all(np.isfinite(d.y_train))


def test_presets_include_the_classic_shapes():
    curves, surfaces = set(CURVE_PRESETS.values()), set(SURFACE_PRESETS.values())
    assert {"sin(x)", "abs(x)", "x^3 - x", "where(x > 0, 1, -1)", "exp(-x^2)"} <= curves
    assert {"sin(x) * cos(y)", "x^2 - y^2", "exp(-(x^2 + y^2))"} <= surfaces
    assert any("sin(" in text and "sqrt(x^2 + y^2)" in text for text in surfaces)  # a ripple


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [
        ({"x_range": (1, 1)}, "x_range"),
        ({"x_range": (2, -2)}, "x_range"),
        ({"x_range": (0, float("inf"))}, "x_range"),
        ({"x_range": (0, float("nan"))}, "x_range"),
        ({"x_range": "ab"}, "x_range"),
        ({"x_range": (1, 2, 3)}, "x_range"),
        ({"n_train": 1}, "n_train"),
        ({"n_train": 2.5}, "n_train"),
        ({"n_train": True}, "n_train"),
        ({"n_val": 0}, "n_val"),
        ({"n_val": 10**9}, "n_val"),
        ({"noise": -0.1}, "noise"),
        ({"noise": float("nan")}, "noise"),
        ({"noise": "0.1"}, "noise"),
        ({"grid": 1}, "grid"),
        ({"grid": 10**6}, "grid"),
    ],
)
def test_bad_curve_arguments_raise_value_error_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        curve("x", **kwargs)


@pytest.mark.parametrize(
    ("kwargs", "argument"),
    [({"y_range": (0, 0)}, "y_range"), ({"grid": 1000}, "grid"), ({"n_train": 0}, "n_train")],
)
def test_bad_surface_arguments_raise_value_error_naming_them(kwargs, argument):
    with pytest.raises(ValueError, match=argument):
        surface("x*y", **kwargs)
