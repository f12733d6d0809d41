"""The pages in a real browser: Debian's Chromium driven by Playwright against the real
server. Each page trains live; the test reads the plots from the page itself, checks
that nothing but 127.0.0.1 was asked for, and saves a screenshot to docs/img/."""

import math
import time
from urllib.request import urlopen

import pytest
from browser import Page, browser, server  # noqa: F401 (fixtures)

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
    page.fill("epochs", 800)  # the default network is within 0.06 of sin(x) by then
    page.start()
    page.wait_for("window.bpnet.state === 'running' && window.bpnet.epochs.length >= 3")
    first_curve = page.trace("fit-plot", 3, "y")
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.epoch >= 500")
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
    page.fill("epochs", 400)
    page.start()
    page.wait_for("(document.getElementById('surface-pred').data[0] || {}).z !== undefined")
    early = page.js("JSON.stringify(document.getElementById('surface-pred').data[0].z)")
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.epoch >= 200", timeout=90)
    page.screenshot("surface")
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.3)
    late = page.js("JSON.stringify(document.getElementById('surface-pred').data[0].z)")
    assert late != early
    points, first, last = loss_falls(page)
    assert points >= 3 and last < first
    page.check_clean()
    page.close()


def test_mnist_page_shows_digits_with_guesses(browser, server):
    page = Page(browser, server + "/mnist")
    page.fill("epochs", 3)
    page.fill("train_subset", 20000)
    page.start()
    # between Start and the first epoch: a note, not axes autoranged to -100 %...400 %
    page.wait_for(
        "(document.getElementById('accuracy-plot').layout.annotations || [])"
        ".some(a => a.text.includes('waiting'))"
    )
    page.wait_for("document.querySelectorAll('#digits .digit').length === 10", timeout=90)
    if page.js("window.bpnet.state") == "running":
        page.screenshot("mnist")
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.3)
    labels = page.js(
        "Array.from(document.querySelectorAll('#digits .digit .label'), e => e.textContent)"
    )
    guesses = page.js(
        "Array.from(document.querySelectorAll('#digits .digit .pred'), e => e.textContent)"
    )
    assert len(labels) == len(guesses) == 10
    assert all(any(ch.isdigit() for ch in text) for text in labels + guesses)
    wrong = page.js("document.querySelectorAll('#digits .digit.wrong').length")
    assert wrong <= 3  # after two epochs the network gets nearly all of them right
    accuracy = page.trace("accuracy-plot", 0, "y")
    assert len(accuracy) == 3 and accuracy[-1] > 0.9
    low, high = page.js("document.getElementById('grad-plot')._fullLayout.yaxis.range")
    assert high - low >= 1  # a log axis a decade tall at least, so it reads as logarithmic
    page.check_clean()
    page.close()


def test_a_bad_expression_is_shown_once_inline_and_start_is_refused(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("expression", "__import__('os')")
    page.wait_for("document.getElementById('expression-error').textContent.length > 0")
    inline = page.js("document.getElementById('expression-error').textContent")
    assert "unknown name" in inline and len(inline) < 120  # no list of every function
    page.fill("expression", "sin(x")
    page.start()
    page.wait_for(
        "document.getElementById('expression-error').textContent.includes('never closed')"
    )
    assert page.js("document.getElementById('error').hidden")  # said once, not in a banner too
    assert page.js("window.bpnet.jobId") in (None, "")
    page.page.click("details.help summary")  # "what can I type?" lists the language
    assert page.page.is_visible("#formula-help")
    assert "sigmoid(a)" in page.js("document.getElementById('formula-help').textContent")
    page.check_clean()
    page.close()


def test_a_long_paste_says_it_was_cut(browser, server):
    page = Page(browser, server + "/curve")
    page.page.click("#expression")
    page.page.keyboard.press("Control+a")
    page.js(
        """(() => {
        const input = document.getElementById('expression');
        const data = new DataTransfer();
        data.setData('text', 'x+'.repeat(2500));
        input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true}));
        input.value = 'x+'.repeat(100);  // what the browser keeps of it (maxlength 200)
        input.dispatchEvent(new Event('input', {bubbles: true}));
    })()"""
    )
    page.wait_for("document.getElementById('expression-error').textContent.includes('5000')")
    said = page.js("document.getElementById('expression-error').textContent")
    assert "at most 200" in said and "first 200" in said
    page.check_clean()
    page.close()


def test_a_formula_typed_without_spaces_selects_its_preset(browser, server):
    page = Page(browser, server + "/curve")
    page.page.fill("#expression", "x^3-x")
    assert page.js("document.getElementById('preset').value") == "x^3 - x"
    page.page.fill("#expression", "x^3-x+1")
    assert page.js("document.getElementById('preset').value") == ""
    page.close()


def test_before_start_plots_show_a_note_and_no_axes_and_no_download(browser, server):
    for task in ["curve", "surface", "mnist"]:
        page = Page(browser, f"{server}/{task}")
        for plot in page.js("Array.from(document.querySelectorAll('.plot'), p => p.id)"):
            layout = page.js(f"document.getElementById('{plot}')._fullLayout")
            assert layout["annotations"] and layout["annotations"][0]["text"], (task, plot)
            assert layout["xaxis"]["visible"] is False and layout["yaxis"]["visible"] is False
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


def draw_stroke(page: Page, points: list[tuple[float, float]]) -> None:
    """Press the mouse at the first point (fractions of the canvas) and move through the rest."""
    canvas = page.page.locator("#draw-canvas")
    canvas.scroll_into_view_if_needed()  # as a user would: mouse events land only on screen
    box = canvas.bounding_box()
    at = [(box["x"] + fx * box["width"], box["y"] + fy * box["height"]) for fx, fy in points]
    page.page.mouse.move(*at[0])
    page.page.mouse.down()
    for x, y in at[1:]:
        page.page.mouse.move(x, y, steps=2)
    page.page.mouse.up()


def click_confusion_cell(page: Page, true: int, guess: int) -> None:
    """A real mouse click at the centre of a heatmap cell (its position read from plotly's axes)."""
    page.page.locator("#confusion-plot").scroll_into_view_if_needed()
    x, y = page.js(f"""(() => {{
        const plot = document.getElementById('confusion-plot');
        const box = plot.getBoundingClientRect();
        const [xaxis, yaxis] = [plot._fullLayout.xaxis, plot._fullLayout.yaxis];
        return [box.left + xaxis._offset + xaxis.l2p({guess}),
                box.top + yaxis._offset + yaxis.l2p({true})];
    }})()""")
    page.page.mouse.click(x, y)


def test_mnist_page_reads_a_drawn_one_and_opens_a_confusion_cell(browser, server):
    page = Page(browser, server + "/mnist")
    assert page.js("document.getElementById('draw-guess').textContent") == "draw a digit"
    page.fill("epochs", 2)
    page.fill("train_subset", 10000)
    page.start()
    page.wait_for("window.bpnet.lastEpoch && window.bpnet.lastEpoch.confusion", timeout=90)
    draw_stroke(page, [(0.5, 0.15 + 0.7 * k / 20) for k in range(21)])  # a vertical "1"
    page.wait_for("window.bpnet.drawn && window.bpnet.drawn.guess !== null", timeout=20)
    page.wait_for("window.bpnet.state === 'finished'", timeout=120)
    time.sleep(0.5)  # the last epoch re-reads the drawing with the final network
    drawn = page.js("window.bpnet.drawn")
    assert drawn["guess"] == "1" and max(drawn["probs"]) > 0.5, drawn
    preview = page.js("document.querySelector('#draw-preview canvas').width")
    assert preview == 28  # what the network saw, shown beside the drawing

    counts = page.js("window.bpnet.lastEpoch.confusion.counts")
    true, guess = max(
        ((t, g) for t in range(10) for g in range(10) if t != g), key=lambda c: counts[c[0]][c[1]]
    )
    click_confusion_cell(page, true, guess)
    expected = min(12, counts[true][guess])
    page.wait_for(f"document.querySelectorAll('#cell-images canvas').length === {expected}")
    caption = page.js("document.querySelector('#cell-images .caption').textContent")
    assert caption.startswith(f"{counts[true][guess]} images of {true} guessed as {guess}")
    assert page.js("document.querySelectorAll('#mistakes .digit.wrong').length") == 12
    page.js("document.getElementById('draw-canvas').closest('.card').scrollIntoView()")
    page.screenshot("mnist-draw")
    page.check_clean()
    page.close()


def click_on_plane(page: Page, x: float, y: float, shift: bool = False) -> None:
    """Click the boundary plot at plane coordinates (x, y) in [-6, 6]²."""
    left, top, width, height = page.js(
        "(() => { const r = document.querySelector('#boundary-plot .nsewdrag')"
        ".getBoundingClientRect(); return [r.left, r.top, r.width, r.height]; })()"
    )
    if shift:
        page.page.keyboard.down("Shift")
    page.page.mouse.click(left + (x + 6) / 12 * width, top + (6 - y) / 12 * height)
    if shift:
        page.page.keyboard.up("Shift")


def test_classify_page_learns_clicked_points_and_shows_every_neuron(browser, server):
    page = Page(browser, server + "/classify")
    for i in range(14):  # class 1 (shift-click) in a disc, class 0 in a ring around it
        angle = 2 * math.pi * i / 14
        click_on_plane(page, 4.5 * math.cos(angle), 4.5 * math.sin(angle))
        if i % 2 == 0:
            click_on_plane(page, 1.5 * math.cos(angle), 1.5 * math.sin(angle), shift=True)
    assert page.js("document.getElementById('dataset').value") == "points"
    labels = page.js("window.bpnet.classify.userPoints().map(p => p[2])")
    assert sorted(labels) == [0] * 14 + [1] * 7
    page.fill("hidden", "12,4")
    page.fill("epochs", 100_000)  # still running when the test stops it
    page.start()
    page.wait_for("window.bpnet.lastEpoch !== null && window.bpnet.classify.diagram.draws >= 1")
    boundary = "JSON.stringify(document.getElementById('boundary-plot').data[0].z)"
    neuron = "document.querySelector('#network canvas[data-layer=\"1\"]').toDataURL()"
    early_boundary, early_neuron = page.js(boundary), page.js(neuron)
    page.wait_for("window.bpnet.lastEpoch.epoch >= 400", timeout=90)
    assert page.js(boundary) != early_boundary
    assert page.js(neuron) != early_neuron
    diagram = page.js("document.getElementById('network').textContent")
    assert "+4 more" in diagram and "sin x" in diagram
    assert page.js("document.querySelectorAll('#network canvas').length") == 4 + 8 + 4 + 1
    page.page.hover('#network canvas[data-layer="1"]')
    assert page.js("document.getElementById('tooltip').textContent").startswith("layer 1, neuron 1")
    assert page.js("window.bpnet.lastEpoch.train_accuracy") >= 0.9
    page.page.mouse.move(0, 0)
    page.screenshot("classify")
    page.page.click("#stop")
    page.wait_for("window.bpnet.state === 'stopped'")
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

SETUP = {"expression": "sin(3*x)", "hidden": "16,16", "activation": "relu", "lr": "0.005"}


def form_values(page: Page) -> dict:
    return page.js(
        "Object.fromEntries([...document.querySelectorAll('[data-field][name]')]"
        ".map(i => [i.name, i.value]))"
    )


def test_a_reload_mid_run_keeps_the_run_and_its_settings(browser, server):
    page = Page(browser, server + "/curve")
    for field, value in {**SETUP, "epochs": 4000}.items():
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
    assert form_values(page)["epochs"] == "4000"
    page.wait_for(f"window.bpnet.lastEpoch.epoch > {resumed_at + 200}")
    page.screenshot("reload-continues")
    page.wait_for("window.bpnet.state === 'finished'", timeout=180)
    time.sleep(0.3)
    epochs = page.trace("loss-plot", 0, "x")
    assert epochs == list(range(1, 4001))  # every epoch, before and after the reload
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
    page.fill("epochs", 600)
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
    assert shown < 600
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
