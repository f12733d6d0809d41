"""DataLoader: every sample once per epoch, batch sizes, views, and seeded shuffling."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from numpy.testing import assert_array_equal

import bpnet
from bpnet import DataLoader


def dataset(n=10):
    x = np.arange(n * 3, dtype=np.float32).reshape(n, 3)
    y = np.arange(n)
    return x, y


@settings(max_examples=60, deadline=None)
@given(
    n=st.integers(1, 40),
    batch_size=st.integers(1, 12),
    shuffle=st.booleans(),
    drop_last=st.booleans(),
)
def test_each_epoch_covers_every_sample_exactly_once(n, batch_size, shuffle, drop_last):
    x, y = dataset(n)
    loader = DataLoader(
        x, y, batch_size=batch_size, shuffle=shuffle, drop_last=drop_last,
        generator=np.random.default_rng(0),
    )  # fmt: skip
    for _ in range(2):
        batches = list(loader)
        assert len(batches) == len(loader)
        seen = np.concatenate([yb for _, yb in batches]) if batches else np.array([], int)
        for xb, yb in batches:
            assert len(xb) == len(yb)
            assert_array_equal(xb, x[yb])  # rows stay paired with their labels
        sizes = [len(yb) for _, yb in batches]
        if drop_last:
            assert len(loader) == n // batch_size
            assert all(size == batch_size for size in sizes)
            assert len(set(seen)) == len(seen) == n // batch_size * batch_size
        else:
            assert len(loader) == -(-n // batch_size)
            assert all(size == batch_size for size in sizes[:-1])
            assert sorted(seen) == list(range(n))
        if not shuffle:
            assert_array_equal(seen, np.arange(len(seen)))


def test_len_counts_batches_with_and_without_drop_last():
    x, y = dataset(10)
    assert len(DataLoader(x, y, batch_size=4)) == 3
    assert len(DataLoader(x, y, batch_size=4, drop_last=True)) == 2
    assert len(DataLoader(x, y, batch_size=5, drop_last=True)) == 2
    assert len(DataLoader(x, y, batch_size=11, drop_last=True)) == 0
    assert [len(yb) for _, yb in DataLoader(x, y, batch_size=4)] == [4, 4, 2]


def test_unshuffled_batches_are_views_of_the_arrays():
    x, y = dataset(10)
    for xb, yb in DataLoader(x, y, batch_size=4):
        assert np.shares_memory(xb, x) and np.shares_memory(yb, y)


def test_shuffled_batches_are_copies():
    x, y = dataset(10)
    xb, _ = next(iter(DataLoader(x, y, batch_size=4, shuffle=True)))
    assert not np.shares_memory(xb, x)


def test_a_seeded_generator_repeats_the_order():
    x, y = dataset(50)
    first = [
        yb
        for _, yb in DataLoader(
            x, y, batch_size=8, shuffle=True, generator=np.random.default_rng(7)
        )
    ]
    second = [
        yb
        for _, yb in DataLoader(
            x, y, batch_size=8, shuffle=True, generator=np.random.default_rng(7)
        )
    ]
    for a, b in zip(first, second, strict=True):
        assert_array_equal(a, b)


def test_manual_seed_repeats_shuffling_with_the_default_generator():
    x, y = dataset(50)
    loader = DataLoader(x, y, batch_size=50, shuffle=True)
    bpnet.manual_seed(11)
    first = next(iter(loader))[1]
    bpnet.manual_seed(11)
    assert_array_equal(next(iter(loader))[1], first)
    bpnet.manual_seed(12)
    assert not np.array_equal(next(iter(loader))[1], first)


def test_different_epochs_draw_different_orders():
    x, y = dataset(50)
    loader = DataLoader(x, y, batch_size=50, shuffle=True, generator=np.random.default_rng(3))
    first, second = (next(iter(loader))[1] for _ in range(2))
    assert not np.array_equal(first, second)
    assert sorted(first) == sorted(second) == list(range(50))


def test_a_single_array_gives_one_tuples():
    (batch,) = next(iter(DataLoader(np.arange(5), batch_size=2)))
    assert_array_equal(batch, [0, 1])


def test_mismatched_lengths_are_a_value_error_with_the_shapes():
    with pytest.raises(ValueError, match=r"same length, got shapes \(10, 3\), \(9,\)"):
        DataLoader(np.zeros((10, 3)), np.zeros(9))


@pytest.mark.parametrize("batch_size", [0, -1, 2.5, "8"])
def test_batch_size_must_be_a_positive_integer(batch_size):
    with pytest.raises(ValueError, match="batch_size should be a positive integer"):
        DataLoader(np.zeros(4), batch_size=batch_size)


def test_no_arrays_is_a_value_error():
    with pytest.raises(ValueError, match="at least one array"):
        DataLoader(batch_size=2)


def test_a_tensor_dataset_gives_the_same_batches_as_its_arrays():
    x, y = dataset(10)
    data = bpnet.TensorDataset(x, y)
    loader = DataLoader(data, batch_size=4)
    assert loader.dataset is data and len(loader.dataset) == 10
    for (xb, yb), (xa, ya) in zip(loader, DataLoader(x, y, batch_size=4)):
        assert np.shares_memory(xb, x)  # still views, not copies
        np.testing.assert_array_equal(xb, xa)
        np.testing.assert_array_equal(yb, ya)


def test_any_dataset_with_len_and_getitem_is_read_sample_by_sample():
    class Squares:
        def __len__(self):
            return 5

        def __getitem__(self, i):
            return np.array([i, i * i], np.float32), i % 2

    loader = DataLoader(Squares(), batch_size=2, shuffle=True, generator=np.random.default_rng(0))
    batches = list(loader)
    assert [len(yb) for _, yb in batches] == [2, 2, 1]
    xs = np.concatenate([xb for xb, _ in batches])
    assert sorted(xs[:, 0].tolist()) == [0, 1, 2, 3, 4]
    assert all(xb[:, 1].tolist() == (xb[:, 0] ** 2).tolist() for xb, _ in batches)


def test_array_loader_exposes_a_dataset_like_torch():
    x, y = dataset(6)
    loader = DataLoader(x, y, batch_size=4)
    assert len(loader.dataset) == 6
    np.testing.assert_array_equal(loader.dataset[2][0], x[2])


def test_batches_of_read_only_data_stay_read_only_and_copy_makes_them_writable():
    x, y = dataset(6)
    x.setflags(write=False)
    xb, _ = next(iter(DataLoader(x, y, batch_size=4)))
    assert not xb.flags.writeable
    assert xb.copy().flags.writeable
