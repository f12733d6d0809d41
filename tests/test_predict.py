"""Asking a job's network about a drawn digit: the payload's checks, and answers taken
with the current weights while the job trains and after it ended."""

import math
import threading

import numpy as np
import pytest

from bpnet.engine import ConfigError, TrainingJob, parse_config
from bpnet.engine.predict import parse_pixels

MNIST = {"task": "mnist", "epochs": 1, "hidden": [32], "train_subset": 1000, "lr": 0.1}


@pytest.mark.parametrize(
    ("payload", "field", "words"),
    [
        ([0.5] * 784, None, "object"),
        ({}, "pixels", "784"),
        ({"pixels": [0.5] * 783}, "pixels", "got 783 values"),
        ({"pixels": "0.5"}, "pixels", "got str"),
        ({"pixels": [0.5] * 783 + [math.nan]}, "pixels", "pixels[783] (row 27, column 27)"),
        (
            {"pixels": [0.5] * 10 + [1.5] + [0] * 773},
            "pixels",
            "from 0 (paper) to 1 (ink), got 1.5",
        ),
        ({"pixels": [-0.1] + [0] * 783}, "pixels", "pixels[0]"),
        ({"pixels": [None] * 784}, "pixels", "got None"),
        ({"pixels": [True] * 784}, "pixels", "got True"),
        ({"pixels": [math.inf] * 784}, "pixels", "got inf"),
        ({"pixels": [0] * 784, "size": 28}, "size", "takes only pixels"),
    ],
)
def test_bad_pixels_are_refused_naming_the_field(payload, field, words):
    with pytest.raises(ConfigError) as caught:
        parse_pixels(payload)
    assert caught.value.field == field
    assert words in str(caught.value)


def test_good_pixels_become_one_float32_image():
    pixels = parse_pixels({"pixels": [0] * 400 + [1] * 384})
    assert pixels.shape == (1, 784) and pixels.dtype == np.float32 and pixels.sum() == 384


def test_a_finished_job_answers_with_its_final_network_like_its_own_samples():
    events = []
    job = TrainingJob(parse_config(MNIST))
    assert job.predict(np.zeros((1, 784), np.float32)) is None  # no network yet
    job.run(events.append)
    last = [e for e in events if e["event"] == "epoch"][-1]
    for sample in last["samples"]:
        pixels = np.asarray(sample["pixels"], np.float32)[None] / 255
        probs = job.predict(pixels)
        assert probs.shape == (1, 10) and math.isclose(probs.sum(), 1, rel_tol=1e-5)
        assert probs.argmax() == sample["pred"]
        np.testing.assert_allclose(probs[0], sample["probs"], atol=2e-4)


def test_predict_while_training_sees_the_weights_change_and_never_disturbs_a_step():
    job = TrainingJob(parse_config({**MNIST, "epochs": 3}))
    digit = np.full((1, 784), 0.2, np.float32)
    answers = []
    worker = threading.Thread(target=job.run, args=(lambda event: None,))
    worker.start()
    while not job.done:
        probs = job.predict(digit)
        if probs is not None:
            answers.append(probs)
    worker.join()
    assert job.state == "finished", job.message
    assert len(answers) > 10 and all(np.isfinite(a).all() for a in answers)
    assert not np.allclose(answers[0], answers[-1])  # the network moved under the questions
