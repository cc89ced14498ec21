"""`vae explore --web` in a real browser: Debian's chromium, headless, driven by Playwright (no browser download)."""

from __future__ import annotations

import io
import shutil
import signal
import socket
import subprocess
import time
import urllib.request

import numpy as np
import pytest
from PIL import Image

from tests.tui.test_terminal import ROOT, VAE
from vae_tui.web import is_loopback

CHROMIUM = shutil.which("chromium")
VIEWPORT = {"width": 1200, "height": 800}


def test_loopback_hosts():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5") and not is_loopback("example.org")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def page_shot(page) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(page.screenshot())).convert("RGB")).astype(int)


def digit_area(shot: np.ndarray) -> np.ndarray:
    """The side panel's decoded digit at this viewport: the right part, under its title, above the nearest digit."""
    height, width = shot.shape[:2]
    return shot[int(0.06 * height) : int(0.68 * height), int(0.58 * width) :]


def digit_drawn(area: np.ndarray) -> bool:
    """Many grays: a decoded digit in truecolor half blocks (the loading screen has a handful)."""
    gray = (area[..., 0] == area[..., 1]) & (area[..., 1] == area[..., 2]) & (area[..., 0] > 30)
    return len(np.unique(area[..., 0][gray])) > 40


def wait_until(condition, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while (result := condition()) is None:
        assert time.monotonic() < deadline, what
        time.sleep(0.3)
    return result


@pytest.mark.skipif(CHROMIUM is None, reason="no chromium installed (apt-get install chromium)")
def test_the_explorer_in_a_browser_moves_hovers_and_exports_as_a_download(tmp_path):
    sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").sync_playwright
    port = free_port()
    exported_before = set(ROOT.glob("vae-map*.png"))
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [*VAE, "explore", "--web", "--port", str(port)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        assert f"open {url} in a browser".encode() in server.stdout.readline()

        def answers() -> bool | None:
            try:
                return urllib.request.urlopen(url, timeout=1).status == 200 or None
            except OSError:
                return None

        wait_until(answers, 30, "the server never answered")
        with sync_playwright() as playwright:
            # The page links a web font, and nothing outside this server is reachable (or needed): Chromium's own
            # resolver refuses other hosts. Not page.route: Chromium can cancel downloads that Playwright intercepts.
            only_local = "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1"
            browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[only_local])
            page = browser.new_page(viewport=VIEWPORT, accept_downloads=True)
            page.goto(url)
            page.wait_for_selector("body.-first-byte", timeout=30_000)

            def ready() -> np.ndarray | None:
                shot = page_shot(page)
                return shot if digit_drawn(digit_area(shot)) else None

            first = wait_until(ready, 90, "the explorer never showed a decoded digit")
            Image.fromarray(first.astype(np.uint8)).save(tmp_path / "browser-1.png")
            page.locator("textarea.xterm-helper-textarea").focus()  # keys reach the app only through xterm.js
            page.keyboard.press("ArrowRight")

            def changed(before: np.ndarray):
                shot = page_shot(page)
                return shot if (np.abs(digit_area(shot) - digit_area(before)).sum(axis=2) > 0).mean() > 0.02 else None

            second = wait_until(lambda: changed(first), 30, "the digit did not change after ArrowRight")
            Image.fromarray(second.astype(np.uint8)).save(tmp_path / "browser-2.png")
            page.mouse.move(VIEWPORT["width"] * 0.15, VIEWPORT["height"] * 0.3)  # over the map: hover decodes there
            wait_until(lambda: changed(second), 30, "hovering over the map did not change the digit")
            with page.expect_download(timeout=30_000) as download_info:
                page.keyboard.press("e")
            download = download_info.value
            saved = tmp_path / download.suggested_filename
            download.save_as(saved)
            browser.close()
        assert download.suggested_filename == "vae-map.png"
        with Image.open(saved) as picture:
            assert picture.format == "PNG" and picture.size[0] > 200
        assert set(ROOT.glob("vae-map*.png")) == exported_before  # delivered to the browser, not written on the server
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    assert server.returncode is not None
