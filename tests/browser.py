"""What the browser tests share: Debian's Chromium driven by Playwright and a Page that
records what it asked the network for and what it logged as errors (the real server on a
free port is conftest.py's ``server``). Test modules import ``browser`` by name; without
Chromium they are skipped."""

import os
from pathlib import Path
from urllib.parse import urlparse

import pytest

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "img"

if not os.path.exists(CHROMIUM):
    if os.environ.get("BPNET_REQUIRE_BROWSER"):
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install -y chromium")
    pytest.skip(f"{CHROMIUM} not installed: apt-get install -y chromium", allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",  # WebGL for the 3-D plots
]



@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield browser
        browser.close()


LAPTOP = {"width": 1366, "height": 768}
PHONE = {"width": 390, "height": 844}


class Page:
    """A page plus what it asked the network for and what it logged as errors."""

    def __init__(self, browser, url: str, viewport=LAPTOP):
        self.page = browser.new_page(viewport=viewport)
        self.hosts: set[str] = set()
        self.errors: list[str] = []
        self.page.on("request", lambda r: self.hosts.add(urlparse(r.url).hostname or r.url))
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.goto(url)
        self.page.wait_for_function("window.bpnet && window.bpnet.connection === 'connected'")

    def js(self, expression: str):
        return self.page.evaluate(expression)

    def fill(self, field: str, value) -> None:
        self.page.fill(f"#{field}", str(value))

    def start(self) -> None:
        self.page.click("#start")

    def wait_for(self, expression: str, timeout: float = 60) -> None:
        self.page.wait_for_function(expression, timeout=timeout * 1000)

    def trace(self, plot: str, index: int, axis: str) -> list:
        return self.js(f"Array.from(document.getElementById('{plot}').data[{index}].{axis})")

    def check_clean(self) -> None:
        assert self.errors == []
        assert self.hosts <= {"127.0.0.1"}, self.hosts

    @staticmethod
    def screenshot_path(name: str) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return SCREENSHOTS / f"{name}.png"

    def screenshot(self, name: str, full_page: bool = False) -> None:
        self.page.screenshot(path=str(self.screenshot_path(name)), full_page=full_page)

    def close(self) -> None:
        self.page.close()
