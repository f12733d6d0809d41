"""The pages in a real browser: Debian's Chromium driven by Playwright against the real
server. The curve and surface pages train live; the test reads the plots from the page
itself, checks that nothing but 127.0.0.1 was asked for, and saves a screenshot to
docs/img/. The other pages have their own files (test_browser_*.py)."""

import time
from urllib.request import urlopen

from browser import Page, browser  # noqa: F401 (fixtures)

import bpnet
from bpnet.engine import TASKS


def test_index_and_nav_link_to_every_task_page(browser, server):
    tab = browser.new_page()
    tab.goto(server + "/")
    links = tab.eval_on_selector_all("a", "els => els.map(e => e.getAttribute('href'))")
    assert {f"/{task}" for task in TASKS} <= set(links)
    nav = tab.eval_on_selector_all("nav a", "els => els.map(e => e.getAttribute('href'))")
    assert nav == [f"/{task}" for task in TASKS]
    tab.close()


def loss_falls(page: Page) -> tuple[int, float, float]:
    train = page.trace("loss-plot", 0, "y")
    return len(train), train[0], train[-1]


def test_curve_page_fits_sin_live(browser, server, tmp_path):
    page = Page(browser, server + "/curve")
    page.fill("expression", "sin(x)")
    page.fill("epochs", 500)  # the default network is within 0.06 of sin(x) by then
    page.start()
    page.wait_for("window.bpnet.state === 'running' && window.bpnet.epochs.length >= 3")
    first_curve = page.trace("fit-plot", 3, "y")
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.epoch >= 300")
    page.screenshot("curve")
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.3)  # one more animation frame to flush the last epoch into the plots
    points, first, last = loss_falls(page)
    assert points >= 10 and last < first / 10
    fitted = page.trace("fit-plot", 3, "y")
    truth = page.trace("fit-plot", 0, "y")
    assert fitted != first_curve
    error = max(abs(a - b) for a, b in zip(fitted, truth))
    assert error < 0.25, f"the fitted curve is still {error:.2f} away from sin(x)"
    assert page.js("document.getElementById('download').hidden") is False
    assert "finished" not in page.js("document.getElementById('status-message').textContent")
    path = tmp_path / "curve.npz"
    path.write_bytes(urlopen(page.js("document.getElementById('download').href")).read())
    weights = bpnet.load(path)  # the network's description (bpnet.model_io) is skipped
    assert list(weights) == ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    assert weights["0.weight"].shape == (64, 1)
    page.check_clean()
    page.close()


def test_surface_page_fits_a_surface_live(browser, server):
    page = Page(browser, server + "/surface")
    page.fill("epochs", 120)
    page.start()
    page.wait_for("(document.getElementById('surface-pred').data[0] || {}).z !== undefined")
    early = page.js("JSON.stringify(document.getElementById('surface-pred').data[0].z)")
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.epoch >= 80", timeout=90)
    page.screenshot("surface")
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.3)
    late = page.js("JSON.stringify(document.getElementById('surface-pred').data[0].z)")
    assert late != early
    points, first, last = loss_falls(page)
    assert points >= 3 and last < first
    page.check_clean()
    page.close()


def test_before_start_plots_show_a_note_and_no_axes_and_no_download(browser, server):
    for task in ["curve", "surface", "mnist"]:
        page = Page(browser, f"{server}/{task}")
        # what each plot shows, read in the page (plotly's whole _fullLayout is large to copy)
        plots = page.js("""Array.from(document.querySelectorAll('.plot'), (p) => ({
            id: p.id, note: (p._fullLayout.annotations[0] || {}).text,
            axes: [p._fullLayout.xaxis.visible, p._fullLayout.yaxis.visible]}))""")
        for plot in plots:
            assert plot["note"], (task, plot)
            assert plot["axes"] == [False, False], (task, plot)
        assert page.js("getComputedStyle(document.getElementById('download')).display") == "none"
        page.close()


def test_the_live_note_shows_the_lr_the_job_reports_and_clears_when_it_ends(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("epochs", 100_000)
    page.page.select_option("#lr_schedule", "cosine")
    page.start()
    page.wait_for("window.bpnet.epochs.length >= 2")
    page.fill("lr", 0.002)
    page.page.dispatch_event("#lr", "change")
    page.wait_for("document.getElementById('live').textContent.startsWith('Now training')")
    page.wait_for("window.bpnet.lastEpoch.lr <= 0.002")
    page.page.wait_for_timeout(400)  # one more frame: the note follows the latest epoch
    note = page.js("document.getElementById('live').textContent")
    reported = page.js("window.bpnet.lastEpoch.lr")
    assert f"lr {reported:.4g}" in note or f"lr {reported:.2e}" in note, (note, reported)
    page.page.click("#stop")
    page.wait_for("window.bpnet.state === 'stopped'")
    assert page.js("document.getElementById('live').textContent") == ""
    said = page.js("document.getElementById('status-message').textContent")
    assert said.startswith("— after epoch ") and "stopped" not in said  # not "stopped — stopped"
    page.check_clean()
    page.close()


def test_the_momentum_field_shows_only_for_optimizers_that_take_one(browser, server):
    page = Page(browser, server + "/curve")
    visible = "!document.getElementById('momentum-field').hidden"
    momentum = "document.getElementById('momentum').value"
    assert page.js(visible) is False  # adam, the default, takes none
    page.page.select_option("#optimizer", "momentum")
    assert page.js(visible) is True and page.js(momentum) == "0.9"
    page.page.select_option("#optimizer", "rmsprop")
    assert page.js(visible) is True and float(page.js(momentum)) == 0
    page.page.select_option("#optimizer", "sgd")
    assert page.js(visible) is False
    page.fill("epochs", 3)
    page.start()
    page.wait_for("window.bpnet.state === 'finished'")
    sent = page.js("window.bpnet.sentConfig")
    assert sent["optimizer"] == "sgd" and "momentum" not in sent


# --- runs a learner can keep: reload, shared links, pins, time travel ---------------------
