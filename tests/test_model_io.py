"""Weights that describe themselves: save_model / load_model, and bpnet.load beside them."""

import json

import numpy as np
import pytest

import bpnet
from bpnet import model_io, nn
from bpnet.engine import TrainingJob, parse_config
from bpnet.serialization import METADATA_KEY

CURVE = {"task": "curve", "expression": "sin(3*x)*exp(-x^2)", "epochs": 150, "hidden": [16, 16]}


@pytest.fixture(scope="module")
def curve_job():
    job = TrainingJob(parse_config(CURVE))
    events = []
    job.run(events.append)
    assert job.state == "finished", job.message
    return job, [e for e in events if e["event"] == "epoch"][-1]


def test_a_saved_curve_network_reproduces_the_jobs_fit(curve_job, tmp_path):
    job, last = curve_job
    path = tmp_path / "curve.npz"
    model_io.save_model(job.model, path, job.model_info())
    model, info = bpnet.load_model(path)
    assert info.task == "curve" and info.output == "values"
    assert info.architecture == {"name": "mlp", "hidden": [16, 16], "activation": "tanh"}
    assert info.config["expression"] == CURVE["expression"]
    fit = info.predict(np.asarray(last["x"]))
    assert fit.shape == (len(last["x"]), 1)
    np.testing.assert_allclose(fit[:, 0], last["y_pred"], atol=1e-5)
    # the raw network alone works in normalised units: without the scaling it is off
    raw = model(np.asarray(last["x"], np.float32)[:, None])[:, 0]
    assert np.abs(raw - np.asarray(last["y_pred"])).max() > 0.05


def test_bpnet_load_skips_the_description_and_torch_takes_the_rest(curve_job, tmp_path, torch):
    job, last = curve_job
    path = tmp_path / "curve.npz"
    model_io.save_model(job.model, path, job.model_info())
    assert METADATA_KEY in np.load(path).files
    state = bpnet.load(path)
    assert list(state) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    mirror = torch.nn.Sequential(
        torch.nn.Linear(1, 16), torch.nn.Tanh(), torch.nn.Linear(16, 16), torch.nn.Tanh(),
        torch.nn.Linear(16, 1),
    )  # fmt: skip
    mirror.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
    x = np.asarray(last["x"], np.float32)[:, None]
    description = json.loads(str(np.load(path)[METADATA_KEY]))
    scaled = (x - description["inputs"]["mean"]) / description["inputs"]["std"]
    out = mirror(torch.from_numpy(scaled.astype(np.float32))).detach().numpy()[:, 0]
    fit = out * description["targets"]["std"][0] + description["targets"]["mean"][0]
    np.testing.assert_allclose(fit, last["y_pred"], atol=1e-5)


def test_every_describable_layer_is_rebuilt_with_its_settings():
    model = nn.Sequential(
        nn.Linear(6, 5, bias=False), nn.LeakyReLU(0.2), nn.Dropout(0.3), nn.Linear(5, 4),
        nn.Sigmoid(), nn.Linear(4, 3), nn.Softmax(dim=1), nn.Flatten(),
    )  # fmt: skip
    specs = model_io.layer_specs(model)
    assert specs[0] == {"type": "Linear", "in_features": 6, "out_features": 5, "bias": False}
    rebuilt = model_io.build(json.loads(json.dumps(specs)))
    assert model_io.layer_specs(rebuilt) == specs
    rebuilt.load_state_dict(model.state_dict())
    x = np.random.default_rng(0).standard_normal((2, 6)).astype(np.float32)
    np.testing.assert_allclose(rebuilt.eval()(x), model.eval()(x), rtol=1e-6)


def test_weights_without_a_description_say_how_to_read_them(tmp_path):
    path = bpnet.save(nn.Sequential(nn.Linear(2, 1)), tmp_path / "plain.npz")
    with pytest.raises(ValueError, match=r"bpnet\.load"):
        bpnet.load_model(path)


def test_an_unknown_layer_type_is_refused_by_name():
    with pytest.raises(ValueError, match="layer 1: unknown layer type 'Attention'"):
        model_io.build([{"type": "ReLU"}, {"type": "Attention"}])


def test_predict_checks_the_input_width(curve_job, tmp_path):
    job, _ = curve_job
    model_io.save_model(job.model, tmp_path / "c.npz", job.model_info())
    _, info = bpnet.load_model(tmp_path / "c.npz")
    with pytest.raises(ValueError, match=r"shape \(N, 1\), got shape \(3, 2\)"):
        info.predict(np.zeros((3, 2)))
