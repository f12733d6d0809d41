"""A training page in class mode, in a real browser: one Redis, one web process, one
worker process. What only the page can show: a job waiting behind a busy worker says so,
and its Stop cancels it before it runs."""

from __future__ import annotations

from contextlib import ExitStack

import pytest
from browser import Page, browser  # noqa: F401 (fixture)
from live_cluster import need_class_mode, redis_server, worker
from live_server import Client, live_server

need_class_mode()

BUSY = {"task": "curve", "hidden": [4], "n_train": 16, "n_val": 8, "grid": 10, "epochs": 100_000}


@pytest.fixture(scope="module")
def web():
    with ExitStack() as stack:
        url, _ = stack.enter_context(redis_server())
        web_url = stack.enter_context(live_server("--redis", url))[0]
        stack.enter_context(worker(url, processes=1))
        yield web_url


def test_a_page_whose_job_waits_for_a_worker_says_so_and_can_cancel_it(browser, web):
    other = Client(web)  # another student's job keeps the only worker busy
    try:
        assert other.call("start", BUSY)["ok"]
        other.wait_for(lambda c: len(c.of("epoch")) >= 1)
        page = Page(browser, web + "/curve")
        page.start()
        page.wait_for("window.bpnet.state === 'queued'")
        said = page.js("document.getElementById('status-message').textContent")
        assert said.startswith("— waiting for a free worker"), said
        assert page.js("document.getElementById('stop').disabled") is False
        assert page.js("document.getElementById('pause').disabled") is True
        page.page.click("#stop")
        page.wait_for("window.bpnet.state === 'stopped'")
        said = page.js("document.getElementById('status-message').textContent")
        assert "before a worker took it" in said, said
        assert page.js("window.bpnet.epochs.length") == 0
        page.check_clean()
        page.close()
    finally:
        other.call("stop")
        other.close()
