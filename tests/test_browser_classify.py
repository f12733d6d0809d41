"""The classify page in a real browser: points clicked onto the plane are learned, and the
network diagram shows every neuron."""

import math

from browser import Page, browser  # noqa: F401 (fixtures)


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
