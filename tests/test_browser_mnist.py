"""The MNIST page in a real browser: sampled digits with the network's guesses, a digit
drawn with the mouse read by the tab's network, and a confusion-matrix cell opened."""

import time

from browser import Page, browser  # noqa: F401 (fixtures)


def test_mnist_page_shows_digits_with_guesses(browser, server):
    page = Page(browser, server + "/mnist")
    page.fill("epochs", 3)
    page.fill("train_subset", 8000)  # 3 epochs of it pass 0.9 validation accuracy
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
