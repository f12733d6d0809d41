"""The pages on a phone (390×844) in a real browser: nothing is wider than the screen,
every plot is at least 300 px wide, the controls are big enough to tap, and the header
keeps the connection indicator in view. Full-page screenshots go to docs/img/*-phone.png."""

import pytest
from browser import PHONE, Page, browser  # noqa: F401 (fixtures)

# What a phone user relies on, measured in the page: horizontal overflow, plot widths,
# controls smaller than a fingertip, and whether the connection indicator is on screen.
MEASURE = """() => {
  const visible = (e) => e.getBoundingClientRect().width > 0;
  const controls = [...document.querySelectorAll("button, input:not([type=checkbox]):not([type=radio]), select")];
  const indicator = document.getElementById("connection");
  return {
    scrollWidth: document.documentElement.scrollWidth,
    innerWidth: window.innerWidth,
    plots: Object.fromEntries([...document.querySelectorAll(".plot")]
      .map((p) => [p.id, Math.round(p.getBoundingClientRect().width)])),
    small: controls.filter(visible).filter((e) => e.getBoundingClientRect().height < 36)
      .map((e) => e.id || e.tagName),
    indicatorRight: indicator ? indicator.getBoundingClientRect().right : 0,
  };
}"""


def check_fits_a_phone(page) -> dict:
    measured = page.evaluate(MEASURE)
    assert measured["scrollWidth"] <= measured["innerWidth"], measured
    assert measured["plots"] and all(w >= 300 for w in measured["plots"].values()), measured
    assert measured["small"] == [], measured
    assert measured["indicatorRight"] <= measured["innerWidth"], measured
    return measured


def test_the_index_fits_a_phone(browser, server):
    tab = browser.new_page(viewport=PHONE)
    tab.goto(server + "/")
    assert tab.evaluate("document.documentElement.scrollWidth <= innerWidth")
    assert tab.title() == "Watch a network learn · bpnet"
    tab.screenshot(path=str(Page.screenshot_path("index-phone")), full_page=True)
    tab.close()


TRAINING = {
    "curve": ({"epochs": 400}, "window.bpnet.epochs.length >= 20"),
    "surface": ({"epochs": 60, "n_train": 300}, "window.bpnet.state === 'finished'"),
    "classify": ({"epochs": 200}, "window.bpnet.epochs.length >= 2"),
    "mnist": (
        {"epochs": 2, "train_subset": 3000},
        "document.querySelectorAll('#digits .digit').length === 10",
    ),
}


@pytest.mark.parametrize("task", list(TRAINING))
def test_a_training_page_fits_a_phone_before_and_while_training(browser, server, task):
    page = Page(browser, f"{server}/{task}", viewport=PHONE)
    check_fits_a_phone(page.page)
    fields, drawn = TRAINING[task]
    for field, value in fields.items():
        page.fill(field, value)
    page.start()
    page.wait_for(drawn, timeout=120)
    page.page.wait_for_timeout(400)  # let the last frame draw
    check_fits_a_phone(page.page)
    # After Start the page scrolls the plots into view: the controls are above them.
    assert page.js("document.querySelector('.plots').getBoundingClientRect().top") < 200
    page.page.mouse.move(0, 0)  # a phone has no hover: no plotly toolbar in the picture
    page.screenshot(f"{task}-phone", full_page=True)
    page.js("document.getElementById('stop').click()")
    page.wait_for("['stopped', 'finished'].includes(window.bpnet.state)")
    page.check_clean()
    page.close()
