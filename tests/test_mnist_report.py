"""The MNIST page's per-epoch pictures: confusion matrix, worst mistakes, filters."""

import numpy as np

from bpnet import nn
from bpnet.engine import mnist_report


def test_confusion_counts_every_pair_and_lists_the_first_images_of_each_cell(rng):
    labels = rng.integers(0, 10, 5000)
    predictions = np.where(rng.random(5000) < 0.8, labels, rng.integers(0, 10, 5000))
    result = mnist_report.confusion(labels, predictions, 10)
    counts = np.array(result["counts"])
    assert counts.shape == (10, 10) and counts.sum() == 5000
    for true in range(10):
        for guess in range(10):
            members = np.flatnonzero((labels == true) & (predictions == guess))
            assert counts[true, guess] == len(members)
            assert result["examples"][true][guess] == members[:12].tolist()


def test_worst_mistakes_are_the_surest_wrong_guesses_surest_first(rng):
    probs = rng.dirichlet(np.ones(10), 400)
    labels = rng.integers(0, 10, 400)
    labels[:50] = probs[:50].argmax(axis=1)  # some right guesses, never listed
    mistakes = mnist_report.worst_mistakes(probs, labels)
    wrong = [i for i in range(400) if probs[i].argmax() != labels[i]]
    expected = sorted(wrong, key=lambda i: -probs[i].max())[:12]
    assert [m["index"] for m in mistakes] == expected
    first = mistakes[0]
    assert first["pred"] == probs[first["index"]].argmax() != first["label"]
    assert first["prob"] == round(probs[first["index"]].max(), 4)
    assert len(first["probs"]) == 10


def test_no_mistakes_means_an_empty_gallery():
    probs = np.eye(10)
    assert mnist_report.worst_mistakes(probs, np.arange(10)) == []


def test_a_perceptron_has_no_filters_to_show():
    assert mnist_report.first_filters(nn.Sequential(nn.Linear(784, 10))) is None
