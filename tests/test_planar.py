"""The 2-D point sets and features: balanced classes on the square, noise that blurs the
pattern, the same points for the same seed, and features computed from x and y."""

import numpy as np
import pytest

from bpnet.datasets import planar

NAMES = list(planar.GENERATORS)


def make(name, n=400, noise=0.0, seed=0):
    return planar.GENERATORS[name](n, noise, np.random.default_rng(seed))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("noise", [0.0, 0.5])
def test_points_lie_on_the_square_with_binary_labels(name, noise):
    points, labels = make(name, noise=noise)
    assert points.shape == (400, 2) and labels.shape == (400,)
    assert np.abs(points).max() <= planar.HALF_SIDE
    assert set(np.unique(labels)) == {0, 1}


@pytest.mark.parametrize("name", NAMES)
def test_classes_are_balanced(name):
    _, labels = make(name, n=1000)
    assert 0.4 <= labels.mean() <= 0.6


@pytest.mark.parametrize("name", NAMES)
def test_the_same_seed_gives_the_same_points_and_another_seed_others(name):
    # noise, because a spiral without noise is the same for every seed
    a, b, c = (make(name, noise=0.1, seed=seed) for seed in (3, 3, 4))
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


RULES = {  # the pattern each set follows without noise
    "circle": lambda p: np.hypot(p[:, 0], p[:, 1]) < 2.5,
    "xor": lambda p: p[:, 0] * p[:, 1] >= 0,
    "gaussian": lambda p: p[:, 0] + p[:, 1] > 0,
}


@pytest.mark.parametrize("name", list(RULES))
def test_noise_blurs_the_pattern(name):
    def agreement(noise):
        points, labels = make(name, n=2000, noise=noise)
        return (RULES[name](points) == labels.astype(bool)).mean()

    assert agreement(0.0) >= 0.99
    assert agreement(0.5) <= 0.95


def test_spiral_arms_interleave_half_a_turn_apart():
    points, labels = make("spiral", n=200)
    ones, zeros = points[labels == 1], points[labels == 0]
    assert np.allclose(ones, -zeros)  # without noise, each arm is the other turned by pi
    radius = np.hypot(*ones.T)
    assert np.all(np.diff(radius) > 0) and radius.max() < 5


def test_spiral_noise_moves_points_by_at_most_the_noise():
    clean, _ = make("spiral", n=200, noise=0.0)
    noisy, _ = make("spiral", n=200, noise=0.3)
    assert 0 < np.abs(noisy - clean).max() <= 0.3


def test_features_are_computed_from_x_and_y():
    points = np.array([[1.0, 2.0], [-0.5, 3.0]])
    got = planar.features(points, list(planar.FEATURES))
    x, y = points.T
    expected = np.stack([x, y, x * x, y * y, x * y, np.sin(x), np.sin(y)], axis=1)
    assert got.dtype == np.float32 and got.shape == (2, 7)
    np.testing.assert_allclose(got, expected, rtol=1e-6)
    np.testing.assert_allclose(planar.features(points, ["siny", "x"]), expected[:, [6, 0]])


def test_grid_rows_rise_in_y_and_columns_in_x():
    grid = planar.grid(3)
    assert grid.tolist()[:3] == [[-6, -6], [0, -6], [6, -6]]
    assert grid.tolist()[-1] == [6, 6]


def test_split_is_seeded_and_keeps_a_point_on_each_side():
    points, labels = make("circle", n=10)
    (tx, _), (vx, _) = planar.split(points, labels, 0.5, np.random.default_rng(0))
    assert len(tx) == 5 and len(vx) == 5
    (tx, _), (vx, _) = planar.split(points[:2], labels[:2], 0.9, np.random.default_rng(0))
    assert len(tx) == 1 and len(vx) == 1
