"""The MNIST page's CNN as a job: it trains, shows its filters, answers predict, and its
saved weights rebuild it here and in PyTorch."""

import numpy as np
import pytest

import bpnet
from bpnet import model_io
from bpnet.engine import TrainingJob, parse_config

CNN = {"task": "mnist", "architecture": "cnn", "channels": [4, 6], "train_subset": 2000,
       "epochs": 1}  # fmt: skip


@pytest.fixture(scope="module")
def cnn_job():
    events = []
    job = TrainingJob(parse_config(CNN))
    job.run(events.append)
    assert job.state == "finished", job.message
    return job, events


def test_a_cnn_job_names_its_layers_and_shows_its_first_filters(cnn_job):
    job, events = cnn_job
    dataset = next(e for e in events if e["event"] == "dataset")
    assert dataset["layers"] == ["Conv2d 1", "Conv2d 2", "Linear 3", "Linear 4"]
    last = [e for e in events if e["event"] == "epoch"][-1]
    filters = np.array(last["filters"])
    assert filters.shape == (4, 5, 5)
    np.testing.assert_allclose(filters, job.model[0].weight.data[:, 0], atol=1e-4)
    assert last["val_accuracy"] > 0.5  # 2,000 images, one epoch: well above chance (0.1)
    assert len(last["grad_norms"]) == 4


def test_a_cnn_answers_predict_like_its_own_samples(cnn_job):
    job, events = cnn_job
    for sample in [e for e in events if e["event"] == "epoch"][-1]["samples"]:
        probs = job.predict(np.asarray(sample["pixels"], np.float32)[None] / 255)
        assert probs.argmax() == sample["pred"]


def test_saved_cnn_weights_rebuild_it_here_and_in_torch(cnn_job, tmp_path, torch):
    job, _ = cnn_job
    path = tmp_path / "cnn.npz"
    model_io.save_model(job.model, path, job.model_info())
    _, info = bpnet.load_model(path)
    assert info.architecture == {"name": "cnn", "channels": [4, 6], "activation": "relu"}
    assert info.input_shape == [1, 28, 28]
    x_test, y_test = bpnet.datasets.load_mnist("test")
    x, y = x_test[:1000], y_test[:1000]
    probs = info.predict(x)
    np.testing.assert_allclose(probs, job.predict(x), atol=1e-6)

    nn = torch.nn
    mirror = nn.Sequential(
        nn.Conv2d(1, 4, 5, padding=2), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(4, 6, 5), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(150, 120), nn.ReLU(), nn.Linear(120, 10),
    )  # fmt: skip
    mirror.load_state_dict({k: torch.from_numpy(v) for k, v in bpnet.load(path).items()})
    logits = mirror(torch.from_numpy(x.reshape(-1, 1, 28, 28).copy()))  # the test set is read-only
    np.testing.assert_allclose(torch.softmax(logits, 1).detach().numpy(), probs, atol=1e-5)
    assert (probs.argmax(axis=1) == y).mean() > 0.5
