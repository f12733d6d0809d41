"""The page in Chromium when its own code fails on a server event: the error is shown,
and the connection (and the job) carry on."""

import time

from browser import Page, browser  # noqa: F401  (fixtures)


def test_an_error_in_the_pages_own_handler_is_not_a_lost_connection(browser, server):  # noqa: F811
    page = Page(browser, server + "/curve")
    page.js("() => { window.Plotly.react = () => { throw new Error('injected plot failure'); }; }")
    page.fill("epochs", 100_000)
    page.start()
    page.wait_for("document.querySelector('#error').textContent.includes('injected plot failure')")
    time.sleep(1.0)  # a dropped connection would show by now: the client reconnects at once
    assert page.js("window.bpnet.connection") == "connected"
    assert page.js("window.bpnet.state") == "running"
    page.close()
