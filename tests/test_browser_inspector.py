"""The instruments in a real browser: start a curve job paused, step it batch by batch,
open the backprop inspector, run a gradient check, and screenshot it to docs/img/."""

import math

from browser import SCREENSHOTS, Page, browser  # noqa: F401 (fixtures)


def paused_at(page: Page, text: str) -> None:
    text = text.removeprefix("paused ")  # the page shows "paused — before epoch 1"
    page.wait_for(
        "window.bpnet.state === 'paused' && "
        f"document.getElementById('status-message').textContent.includes({text!r})"
    )


def test_step_a_curve_job_inspect_it_and_check_its_gradients(browser, server):
    page = Page(browser, server + "/curve")
    page.fill("epochs", 50)
    page.fill("n_train", 96)
    page.page.check("#paused")
    page.start()
    paused_at(page, "paused before epoch 1")
    for expected in ("batch 1/3", "batch 2/3", "paused before epoch 2"):
        page.page.click("#step-batch")
        paused_at(page, expected)
    assert "epoch 1, batch 3/3" in page.js("document.getElementById('step-position').textContent")
    assert page.js("window.bpnet.epochs") == [1]  # the third batch ended epoch 1
    page.page.click("#step-batch")
    paused_at(page, "batch 1/3")

    page.page.click("#inspector summary")
    page.page.select_option("#inspect-layer", "1")
    page.page.click("#inspect")
    page.wait_for("window.bpnet.inspection !== undefined")
    inspection = page.js("window.bpnet.inspection")
    assert inspection["layers"][0]["name"] == "Linear 2"
    assert (inspection["epoch"], inspection["batch"]) == (2, 1)
    for key in ("activation", "activation_grad", "weight", "weight_grad", "update"):
        counts = page.trace(f"histogram-{key}", 0, "y")
        assert 1 <= len(counts) <= 50 and sum(counts) > 0
    assert "‖Δw‖/‖w‖" in page.js("document.getElementById('inspect-figures').textContent")

    page.page.click("#gradcheck")
    page.wait_for("window.bpnet.gradcheck !== undefined")
    errors = page.js(
        "Array.from(document.querySelectorAll('#gradcheck-table tbody td:last-child'),"
        " td => Number(td.textContent))"
    )
    assert len(errors) == 5 and max(errors) < 1e-6
    page.page.locator("#inspector").scroll_into_view_if_needed()
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.page.locator("#inspector").screenshot(path=str(SCREENSHOTS / "inspector.png"))

    # stepping on with the inspector open inspects the new batch by itself
    page.page.click("#step-batch")
    paused_at(page, "batch 2/3")
    page.wait_for("window.bpnet.inspection.batch === 2")

    # the faint unit curves and the bias add up to the network's curve
    page.page.click("#step-epoch")
    paused_at(page, "paused before epoch 3")
    page.wait_for("document.getElementById('fit-plot').data.length > 4")
    epoch = page.js("window.bpnet.lastEpoch")
    units = epoch["units"]
    assert (
        len(units["curves"]) == 16
        and len(page.js("document.getElementById('fit-plot').data")) == 20
    )
    for i, fitted in enumerate(epoch["y_pred"]):
        total = sum(curve[i] for curve in units["curves"]) + units["rest"][i] + units["bias"]
        assert math.isclose(
            total, fitted, abs_tol=2e-5
        )  # each value is rounded to 1e-6 on the wire
    page.check_clean()
    page.close()
