"""Runs a learner can keep, in a real browser: a reload mid-run keeps the run and its
settings, a shared link restores settings, pinned runs are drawn beside the live one, the
time-travel slider shows an earlier fit, and Show code offers the scripts."""

import time

import pytest
from browser import Page, browser  # noqa: F401 (fixtures)

SETUP = {"expression": "sin(3*x)", "hidden": "16,16", "activation": "relu", "lr": "0.005"}


def form_values(page: Page) -> dict:
    return page.js(
        "Object.fromEntries([...document.querySelectorAll('[data-field][name]')]"
        ".map(i => [i.name, i.value]))"
    )


def test_a_reload_mid_run_keeps_the_run_and_its_settings(browser, server):
    page = Page(browser, server + "/curve")
    for field, value in {**SETUP, "epochs": 100_000}.items():  # still running after the reload
        if field == "activation":
            page.page.select_option("#activation", value)
        else:
            page.fill(field, value)
    page.start()
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.epoch >= 300")
    job = page.js("window.bpnet.jobId")
    page.page.reload()
    page.wait_for("window.bpnet && window.bpnet.connection === 'connected'")
    page.wait_for(f"window.bpnet.jobId === '{job}' && window.bpnet.state === 'running'")
    resumed_at = page.js("window.bpnet.lastEpoch.epoch")
    assert resumed_at >= 300
    assert {k: form_values(page)[k] for k in SETUP} == SETUP
    assert form_values(page)["epochs"] == "100000"
    page.wait_for(f"window.bpnet.lastEpoch.epoch > {resumed_at + 200}")
    page.screenshot("reload-continues")
    page.page.click("#stop")
    page.wait_for("window.bpnet.state === 'stopped'")
    time.sleep(0.3)
    epochs = page.trace("loss-plot", 0, "x")
    assert epochs[-1] >= page.js("window.bpnet.lastEpoch.epoch") > resumed_at + 200
    assert epochs == list(range(1, epochs[-1] + 1))  # every epoch, before and after the reload
    assert len(page.trace("fit-plot", 3, "y")) == 200  # the network's curve is drawn
    page.check_clean()
    page.close()


def test_a_shared_link_restores_its_settings_and_shows_bad_values_as_field_errors(browser, server):
    query = "&".join(f"{k}={v}" for k, v in {**SETUP, "epochs": 77}.items())
    page = Page(browser, f"{server}/curve?{query.replace('+', '%2B')}")
    values = form_values(page)
    assert {k: values[k] for k in SETUP} == SETUP and values["epochs"] == "77"
    assert page.js("document.getElementById('preset').value") == ""  # custom formula
    page.page.click("#copy-link")
    page.wait_for("!document.getElementById('notice').hidden")
    assert "expression=sin(3*x)" in page.js("location.href")
    assert page.js("window.bpnet.state") == "idle"  # nothing runs until Start
    page.close()

    bad = Page(browser, f"{server}/curve?lr=fast&hidden=0,5&epochs=12")
    bad.wait_for("document.querySelectorAll('.invalid').length >= 2")
    invalid = bad.js("[...document.querySelectorAll('.invalid')].map(e => e.name)")
    assert {"lr", "hidden"} <= set(invalid)
    error = bad.js("document.getElementById('error').textContent")
    assert "lr" in error and "hidden" in error
    assert bad.js("window.bpnet.jobId") is None
    bad.close()


def test_two_pinned_runs_are_drawn_beside_the_live_one(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("epochs", 60)
    page.fill("hidden", "8")
    for lr in ("0.05", "0.002"):
        page.fill("lr", lr)
        page.start()
        page.wait_for("window.bpnet.state === 'finished'")
        time.sleep(0.3)
        page.page.click("#pin")
    assert page.js("document.querySelectorAll('#pins li').length") == 2
    page.fill("lr", "0.01")
    page.page.dispatch_event("#lr", "change")
    labels = page.js("[...document.querySelectorAll('#pins .pin-label')].map(e => e.textContent)")
    assert labels == ["lr 0.05 → 0.01", "lr 0.002 → 0.01"]
    names = page.js("document.getElementById('loss-plot').data.map(t => t.name)")
    assert len(names) == 4 and all("pinned" in name for name in names[2:])
    fit_names = page.js("document.getElementById('fit-plot').data.map(t => t.name)")
    assert fit_names[-2:] == ["pinned 1", "pinned 2"]
    page.screenshot("pinned-runs")
    page.page.click("#pins li:first-child .unpin")
    assert page.js("document.querySelectorAll('#pins li').length") == 1
    page.check_clean()
    page.close()


def test_the_time_travel_slider_shows_an_earlier_fit(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("epochs", 150)
    page.start()
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.3)
    final = page.trace("fit-plot", 3, "y")
    snapshots = int(page.js("document.getElementById('time-travel').max")) + 1
    assert 2 <= snapshots <= 200
    page.page.fill("#time-travel", str(snapshots // 8))  # an early fit, not the first
    label = page.js("document.getElementById('time-travel-label').textContent")
    assert label.startswith("epoch ")
    shown = int(label.split()[1])
    assert shown < 150
    earlier = page.trace("fit-plot", 3, "y")
    assert earlier != final
    marker = page.js("document.getElementById('loss-plot').layout.shapes[0].x0")
    assert marker == shown
    page.screenshot("time-travel")
    page.page.fill("#time-travel", str(snapshots - 1))
    assert page.js("document.getElementById('time-travel-label').textContent") == "live"
    assert page.trace("fit-plot", 3, "y") == final
    page.check_clean()
    page.close()


def test_show_code_offers_the_bpnet_script_and_its_pytorch_twin(browser, server):
    page = Page(browser, server + "/curve?expression=x^2&hidden=8&epochs=50")
    page.page.click("#show-code")
    page.wait_for("document.getElementById('code-panel').open")
    code = page.js("document.getElementById('code-text').textContent")
    assert "model.backward(criterion.backward())" in code and "'x^2'," in code
    assert page.js("document.getElementById('code-download').download") == "bpnet_curve.py"
    page.screenshot("show-code")
    page.page.click("#code-panel [data-tab=torch]")
    assert "import torch" in page.js("document.getElementById('code-text').textContent")
    assert page.js("document.getElementById('code-download').download") == "torch_curve.py"
    page.check_clean()
    page.close()


@pytest.mark.parametrize(
    ("path", "field", "value", "written"),
    [
        ("/classify", "regularization", "l2", "Penalized(nn.CrossEntropyLoss(), weights, 'l2'"),
        ("/mnist", "architecture", "cnn", "nn.Conv2d(1, 8, kernel_size=(5, 5)"),
    ],
)
def test_show_code_covers_classify_penalties_and_the_cnn(
    browser, server, path, field, value, written
):
    page = Page(browser, server + path)
    page.page.select_option(f"#{field}", value)
    page.page.click("#show-code")
    page.wait_for("document.getElementById('code-panel').open")
    assert written in page.js("document.getElementById('code-text').textContent")
    page.check_clean()
    page.close()
