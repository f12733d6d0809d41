"""bpnet.save / bpnet.load: exact round trips, atomic writes, and weights shared with PyTorch."""

import io
import zipfile

import numpy as np
import pytest
from helpers import torch_module
from numpy.testing import assert_allclose, assert_array_equal

import bpnet
from bpnet import nn


def mlp():
    return nn.Sequential(
        nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 6, bias=False), nn.ReLU(), nn.Linear(6, 3)
    )


def test_save_then_load_gives_the_same_keys_in_order_and_exact_values(tmp_path):
    model = mlp()
    path = bpnet.save(model, tmp_path / "weights.npz")
    assert path == tmp_path / "weights.npz"
    loaded = bpnet.load(path)
    state = model.state_dict()
    assert list(loaded) == list(state) == ["0.weight", "0.bias", "2.weight", "4.weight", "4.bias"]
    for name, value in state.items():
        assert loaded[name].dtype == value.dtype == np.float32
        assert_array_equal(loaded[name], value)


def test_saved_file_is_a_complete_npz_archive(tmp_path):
    path = bpnet.save(mlp(), str(tmp_path / "weights.npz"))
    with zipfile.ZipFile(path) as archive:
        assert archive.testzip() is None  # every member's CRC checks out
        assert archive.namelist() == [f"{k}.npy" for k in mlp().state_dict()]


def test_loaded_weights_restore_the_model_outputs(tmp_path, rng):
    model = mlp()
    x = rng.standard_normal((5, 4)).astype(np.float32)
    bpnet.save(model, tmp_path / "w.npz")
    fresh = mlp()
    assert not np.array_equal(fresh(x), model(x))
    fresh.load_state_dict(bpnet.load(tmp_path / "w.npz"))
    assert_array_equal(fresh(x), model(x))


def test_save_accepts_a_dict_of_arrays_and_keeps_the_name_as_given(tmp_path):
    state = {"b": np.arange(3, dtype=np.int64), "a": np.eye(2)}
    path = bpnet.save(state, tmp_path / "plain")  # np.savez would append ".npz"
    assert path.exists() and not (tmp_path / "plain.npz").exists()
    loaded = bpnet.load(path)
    assert list(loaded) == ["b", "a"]
    assert_array_equal(loaded["b"], state["b"])
    assert loaded["b"].dtype == np.int64


def test_save_rejects_objects_that_are_not_modules_or_dicts(tmp_path):
    with pytest.raises(TypeError, match="Module or a dict of arrays, got list"):
        bpnet.save([np.zeros(2)], tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


class Unpicklable:
    def __reduce__(self):
        raise RuntimeError("cannot be saved")


def test_failing_save_leaves_no_file_and_no_temporary_file(tmp_path):
    # refused before writing: only numeric arrays are stored (no pickles)
    with pytest.raises(TypeError, match=r"numeric arrays.*'bad'"):
        bpnet.save({"ok": np.zeros(3), "bad": Unpicklable()}, tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def test_failing_save_leaves_an_existing_file_untouched(tmp_path, monkeypatch):
    path = bpnet.save(mlp(), tmp_path / "w.npz")
    before = path.read_bytes()

    def broken_write(file, arrays):
        file.write(b"half an archive")
        raise OSError("disk full")

    monkeypatch.setattr(bpnet.serialization, "_write_npz", broken_write)
    with pytest.raises(OSError, match="disk full"):
        bpnet.save(nn.Linear(2, 2), path)
    assert path.read_bytes() == before
    assert list(tmp_path.iterdir()) == [path]


def test_interrupted_save_cleans_up_its_temporary_file(tmp_path, monkeypatch):
    def interrupted(file, arrays):
        raise KeyboardInterrupt

    monkeypatch.setattr(bpnet.serialization, "_write_npz", interrupted)
    with pytest.raises(KeyboardInterrupt):
        bpnet.save(mlp(), tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def test_saved_weights_load_into_the_equivalent_torch_sequential(torch, tmp_path, rng):
    model = mlp()
    bpnet.save(model, tmp_path / "w.npz")
    reference = torch.nn.Sequential(
        torch.nn.Linear(4, 6),
        torch.nn.Tanh(),
        torch.nn.Linear(6, 6, bias=False),
        torch.nn.ReLU(),
        torch.nn.Linear(6, 3),
    )
    result = reference.load_state_dict(
        {k: torch.from_numpy(v) for k, v in bpnet.load(tmp_path / "w.npz").items()}
    )
    assert not result.missing_keys and not result.unexpected_keys
    x = rng.standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()
    assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)


def test_torch_state_dict_loads_into_bpnet_and_gives_the_same_outputs(torch, tmp_path, rng):
    torch.manual_seed(0)
    reference = torch.nn.Sequential(
        torch.nn.Linear(4, 6), torch.nn.Tanh(), torch.nn.Linear(6, 6, bias=False),
        torch.nn.ReLU(), torch.nn.Linear(6, 3),
    )  # fmt: skip
    x = rng.standard_normal((5, 4)).astype(np.float32)
    with torch.no_grad():
        expected = reference(torch.from_numpy(x)).numpy()

    model = mlp()
    model.load_state_dict(reference.state_dict())  # tensors straight in
    assert_allclose(model(x), expected, rtol=1e-5, atol=1e-6)

    other = mlp()
    bpnet.save({k: v.numpy() for k, v in reference.state_dict().items()}, tmp_path / "t.npz")
    other.load_state_dict(bpnet.load(tmp_path / "t.npz"))
    assert_allclose(other(x), expected, rtol=1e-5, atol=1e-6)


def test_weights_survive_a_round_trip_through_torch(torch, rng):
    model = mlp()
    back = mlp()
    back.load_state_dict(torch_module(model, torch).state_dict())
    for name, value in model.state_dict().items():
        assert_array_equal(back.state_dict()[name], value)


# --- keys that np.savez could not store, and files that are not bpnet's -----------------


def test_keys_named_like_savez_arguments_round_trip(tmp_path):
    state = {"file": np.ones(2), "allow_pickle": np.zeros(3), "args": np.arange(2)}
    loaded = bpnet.load(bpnet.save(state, tmp_path / "w.npz"))
    assert list(loaded) == ["file", "allow_pickle", "args"]
    assert_array_equal(loaded["allow_pickle"], np.zeros(3))


@pytest.mark.parametrize(
    "key, error, message",
    [
        (1, TypeError, r"string keys.*1 \(int\).*collide"),
        ("", ValueError, "non-empty"),
        ("__bpnet_meta", ValueError, "kept for bpnet's own metadata"),
    ],
)
def test_unusable_keys_are_refused_with_a_message(tmp_path, key, error, message):
    with pytest.raises(error, match=message):
        bpnet.save({key: np.zeros(1), "ok": np.ones(1)}, tmp_path / "w.npz")
    assert list(tmp_path.iterdir()) == []


def test_an_optimizer_state_dict_is_refused_at_save_time(tmp_path):
    model = mlp()
    optimizer = bpnet.optim.Adam(model.parameters())
    with pytest.raises(TypeError, match="optimizer's state_dict"):
        bpnet.save(optimizer.state_dict(), tmp_path / "opt.npz")
    assert list(tmp_path.iterdir()) == []


def test_a_torch_save_file_is_refused_with_advice(torch, tmp_path):
    path = tmp_path / "model.pt"
    torch.save(torch.nn.Linear(2, 2).state_dict(), path)
    with pytest.raises(ValueError, match=r"looks like a PyTorch \.pt file.*torch\.load"):
        bpnet.load(path)


@pytest.mark.parametrize(
    "content, message",
    [
        (b"", "it is empty"),
        (b"hello world", "not a zip archive"),
        (b"\x80\x02\x8a\x0al", "pickled"),
    ],
)
def test_a_file_that_is_not_a_zip_is_refused_saying_what_it_looks_like(tmp_path, content, message):
    path = tmp_path / "w.npz"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=message):
        bpnet.load(path)


def test_a_single_npy_file_is_refused_with_advice(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros(3))
    with pytest.raises(ValueError, match=r"single \.npy array"):
        bpnet.load(tmp_path / "a.npy")


def test_a_member_that_is_not_an_array_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("0.weight.npy", _npy(np.zeros(2)))
        archive.writestr("notes.txt", b"hello")
    with pytest.raises(ValueError, match=r"'notes\.txt' is not an array"):
        bpnet.load(path)


def test_a_member_of_python_objects_is_refused(tmp_path):
    path = tmp_path / "w.npz"
    np.savez(path, a=np.array([{"x": 1}], dtype=object))
    with pytest.raises(ValueError, match="Python objects"):
        bpnet.load(path)


def test_a_compressed_bomb_is_refused_from_its_declared_size_before_reading(tmp_path):
    path = tmp_path / "bomb.npz"
    np.savez_compressed(path, a=np.zeros(5_000_000))  # 40 MB of zeros in ~40 KB
    assert path.stat().st_size < 200_000
    with pytest.raises(ValueError, match=r"max_bytes=1,000,000"):
        bpnet.load(path, max_bytes=1_000_000)
    assert bpnet.load(path, max_bytes=None)["a"].shape == (5_000_000,)


def test_a_header_that_lies_about_the_array_size_is_refused_before_allocating(tmp_path):
    path = tmp_path / "liar.npz"
    with zipfile.ZipFile(path, "w") as archive:  # claims 800 GB, holds 8 bytes
        archive.writestr("a.npy", _npy_header((10**11,)) + b"\0" * 8)
    with pytest.raises(ValueError, match="declares more than"):
        bpnet.load(path)


def test_a_truncated_member_is_refused(tmp_path):
    path = tmp_path / "short.npz"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("a.npy", _npy_header((10,)) + b"\0" * 8)
    with pytest.raises(ValueError, match="truncated"):
        bpnet.load(path)


def _npy(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.save(buffer, array)
    return buffer.getvalue()


def _npy_header(shape: tuple) -> bytes:
    """The .npy header of a float64 array of ``shape`` (magic and version included)."""
    buffer = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        buffer, {"descr": "<f8", "fortran_order": False, "shape": shape}
    )
    return buffer.getvalue()
