"""Screenshots of the demo page for the README and docs, taken with headless Chromium.

pip install -e ".[test]" && apt-get install chromium
python scripts/demo_screenshot.py docs/images     # writes demo.png and demo-compare.png

Serves the shipped colorizer (or --model) on 127.0.0.1, colours the astronaut example by
the pyramid (the result tab, slider halfway), then compares every method (zoom on the
astronaut's face).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import tempfile
from pathlib import Path

from playwright.sync_api import Page, sync_playwright

from pyramidrefine.demo.app import serve
from pyramidrefine.demo.runner import DemoRunner
from pyramidrefine.pretrained import load_colorizer

FLAGS = shlex.split(
    "--headless --no-sandbox --disable-gpu --disable-quic --no-first-run "
    "--disable-background-networking --disable-component-update --disable-sync"
)
VIEWPORT = {"width": 1280, "height": 860}
ZOOM = {"x": "44", "y": "24", "side": "160"}  # percent, percent, pixels: the face


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder for demo.png and demo-compare.png")
    parser.add_argument("--model", help="folder or Hub id (default: the shipped colorizer)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as outputs, tempfile.TemporaryDirectory() as profile:
        model = load_colorizer(args.model)
        runner = DemoRunner(model, Path(outputs), name=args.model, device="cpu")
        runner.warm_up()
        server = serve(runner)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch_persistent_context(
                profile, executable_path=shutil.which("chromium"), args=FLAGS, viewport=VIEWPORT
            )
            page = browser.new_page()
            page.set_default_timeout(120_000)
            page.goto(server.local_url)
            shoot(page, args.out)
            browser.close()
        server.close()


def shoot(page: Page, out: Path) -> None:
    """Colour the astronaut, then compare every method, with a screenshot of each."""
    page.get_by_role("button", name="astronaut.jpg").click()
    page.locator('#photo a[download="astronaut.jpg"]').wait_for()
    page.click("#colour")
    page.locator("#download").wait_for()
    page.wait_for_timeout(1000)  # images fade in
    page.screenshot(path=out / "demo.png")
    page.click("#compare")
    page.wait_for_function("document.querySelector('#status textarea').value.includes('methods')")
    for name, value in ZOOM.items():
        number = page.locator(f"#zoom-{name} input[type=number]")
        number.fill(value)
        number.press("Enter")
        number.blur()
    page.wait_for_timeout(2000)
    page.screenshot(path=out / "demo-compare.png", full_page=True)


if __name__ == "__main__":
    main()
