"""The pages as the server renders them: what they offer depends on this server."""

import pytest

import webapp.routes
from webapp import create_app


@pytest.fixture
def client():
    return create_app({"TESTING": True}).test_client()


@pytest.mark.parametrize("installed", [True, False])
def test_fashion_mnist_is_offered_only_when_installed(client, monkeypatch, installed):
    monkeypatch.setattr(
        webapp.routes, "available_datasets", lambda: {"mnist": True, "fashion-mnist": installed}
    )
    page = client.get("/mnist").get_data(as_text=True)
    assert "<option selected>mnist</option>" in page
    assert ("<option>fashion-mnist</option>" in page) is installed
    assert ("apt-get install dataset-fashion-mnist" in page) is not installed


def test_formula_pages_say_what_can_be_typed(client):
    curve = client.get("/curve").get_data(as_text=True)
    surface = client.get("/surface").get_data(as_text=True)
    assert "what can I type?" in curve and "sigmoid(a)" in curve
    assert "Numbers, x, pi, e" in curve and "Numbers, x, y, pi, e" in surface


def test_the_index_title_names_the_site_once(client):
    assert "<title>Watch a network learn · bpnet</title>" in client.get("/").get_data(as_text=True)
