"""End to end: small networks trained with bpnet's own layers, losses and optimizers learn
XOR, sin(x) and three concentric rings, from a fixed seed, in well under a second each."""

import numpy as np
import pytest
from numpy.testing import assert_array_equal

import bpnet
from bpnet import nn, optim


def train(model, criterion, optimizer, loader, epochs):
    """The usual loop: forward, loss, backward, step. Returns the loss of each batch."""
    losses = []
    for _ in range(epochs):
        model.train()
        for xb, yb in loader:
            optimizer.zero_grad()
            losses.append(criterion(model(xb), yb))
            model.backward(criterion.backward(), input_grad=False)
            optimizer.step()
    return losses


XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], np.float32)
XOR_Y = np.array([[0], [1], [1], [0]], np.float32)


@pytest.mark.parametrize(
    "make_optimizer",
    [
        lambda params: optim.Adam(params, lr=0.05),
        lambda params: optim.SGD(params, lr=0.1, momentum=0.9),
    ],
    ids=["adam", "sgd_momentum"],
)
def test_a_2_8_1_tanh_network_learns_xor(make_optimizer):
    bpnet.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 8), nn.Tanh(), nn.Linear(8, 1))
    criterion = nn.MSELoss()
    loader = bpnet.DataLoader(XOR_X, XOR_Y, batch_size=4)
    losses = train(model, criterion, make_optimizer(model.parameters()), loader, epochs=300)
    assert losses[0] > 0.1  # it did not start solved
    assert criterion(model(XOR_X), XOR_Y) < 0.01
    assert_array_equal(model(XOR_X) > 0.5, XOR_Y > 0.5)


def test_a_1_32_32_1_tanh_network_fits_sin_on_minus_pi_to_pi():
    bpnet.manual_seed(0)
    x = np.linspace(-np.pi, np.pi, 256, dtype=np.float32)[:, None]
    model = nn.Sequential(
        nn.Linear(1, 32), nn.Tanh(), nn.Linear(32, 32), nn.Tanh(), nn.Linear(32, 1)
    )
    criterion = nn.MSELoss()
    loader = bpnet.DataLoader(x, np.sin(x), batch_size=32, shuffle=True)
    train(model, criterion, optim.Adam(model.parameters(), lr=0.01), loader, epochs=100)
    between = np.linspace(-np.pi, np.pi, 1001, dtype=np.float32)[:, None]  # unseen points
    assert criterion(model(between), np.sin(between)) < 1e-3


def test_a_relu_network_with_dropout_separates_three_rings_with_cross_entropy():
    bpnet.manual_seed(0)
    data = np.random.default_rng(0)
    labels = np.repeat([0, 1, 2], 200)
    radius = 0.5 + labels + data.normal(0, 0.15, labels.size)
    angle = data.uniform(0, 2 * np.pi, labels.size)
    x = np.stack([radius * np.cos(angle), radius * np.sin(angle)], axis=1).astype(np.float32)
    model = nn.Sequential(
        nn.Linear(2, 32), nn.ReLU(), nn.Dropout(0.1), nn.Linear(32, 32), nn.ReLU(), nn.Linear(32, 3)
    )
    criterion = nn.CrossEntropyLoss()
    loader = bpnet.DataLoader(x, labels, batch_size=32, shuffle=True)
    train(model, criterion, optim.RMSprop(model.parameters(), lr=0.01), loader, epochs=60)
    model.eval()
    assert (model(x).argmax(axis=1) == labels).mean() > 0.97


def test_the_same_seed_gives_the_same_training_run_to_the_bit():
    def run():
        bpnet.manual_seed(5)
        x = np.linspace(-1, 1, 64, dtype=np.float32)[:, None]
        model = nn.Sequential(nn.Linear(1, 16), nn.Tanh(), nn.Dropout(0.2), nn.Linear(16, 1))
        loader = bpnet.DataLoader(x, x**2, batch_size=16, shuffle=True)
        losses = train(model, nn.MSELoss(), optim.Adam(model.parameters()), loader, epochs=5)
        return losses, model.state_dict()

    (losses, state), (again, state_again) = run(), run()
    assert losses == again
    for name in state:
        assert_array_equal(state[name], state_again[name])
