"""The demo page in a real browser: Debian's Chromium, headless, driven by Playwright."""

import io
import re
import shutil
from urllib.parse import urlsplit

import numpy as np
import pytest
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.demo import example_photos
from pyramidrefine.demo.app import serve
from pyramidrefine.demo.runner import DemoRunner
from pyramidrefine.pretrained import load_colorizer

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# Root in a container needs --no-sandbox; the rest keep Chromium off the network.
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

TIMEOUT_MS = 60_000  # generous: CI's two cores may be busy

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="no Chromium installed (apt-get install chromium)"
)


@pytest.fixture(scope="module")
def url(tmp_path_factory):
    """The demo with the shipped colorizer, served on 127.0.0.1 from this process."""
    outputs = tmp_path_factory.mktemp("outputs")
    runner = DemoRunner(load_colorizer(), outputs, device="cpu", precision="fp32")
    page = serve(runner, host="127.0.0.1")
    yield page.local_url
    page.close()


@pytest.fixture(scope="module")
def hint_url(tmp_path_factory):
    """The demo with a tiny random colorizer that takes colour hints (3 guide channels)."""
    tiny = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2
    )
    guided = pr.add_guide_channels(tiny.eval(), 3)
    runner = DemoRunner(guided, tmp_path_factory.mktemp("outputs"), device="cpu", precision="fp32")
    page = serve(runner, host="127.0.0.1")
    yield page.local_url
    page.close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory):
    """Chromium with a fresh profile folder."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            tmp_path_factory.mktemp("profile"),
            executable_path=CHROMIUM,
            args=FLAGS,
            accept_downloads=True,
        )
        context.set_default_timeout(TIMEOUT_MS)
        yield context
        context.close()


def open_with_upload(browser, url, path):
    """A new page on the demo with ``path`` uploaded and **Colour** pressed, and the list
    of the URLs it requests."""
    page = browser.new_page()
    requested = []
    page.on("request", lambda request: requested.append(request.url))
    page.goto(url)
    page.locator("#photo input[type=file]").set_input_files(path)
    page.locator(f'#photo a[download="{path.name}"]').wait_for()  # uploaded: a link to it
    page.click("#colour")
    return page, requested


def click_a_hint(browser, address, tmp_path):
    """A new page on the demo at ``address`` with a 64×48 cat uploaded and one hint of the
    picker's colour clicked at a quarter of its width: the page, the picture to place hints
    on and the list of hints."""
    from playwright.sync_api import expect

    photo = tmp_path / "cat.png"
    with Image.open(example_photos()[1]) as example:
        example.resize((64, 48)).save(photo)
    page = browser.new_page()
    page.goto(address)
    page.locator("#photo input[type=file]").set_input_files(photo)
    page.get_by_role("tab", name="Colour hints").click()
    picture = page.locator("#hint-picture img")
    expect(picture).to_be_visible(timeout=TIMEOUT_MS)
    box = picture.bounding_box()
    page.mouse.click(box["x"] + box["width"] * 0.25, box["y"] + box["height"] * 0.5)
    return page, picture, page.locator("#hint-list textarea")


def download_result(page, tmp_path):
    """The **Result** tab's download: the download and the file it was saved as."""
    page.get_by_role("tab", name="Result").click()
    with page.expect_download() as download:
        page.locator("#download").click()
    saved = tmp_path / "result.png"
    download.value.save_as(saved)
    return download.value, saved


def test_a_photo_comes_back_coloured_at_its_size(browser, url, tmp_path):
    photo = tmp_path / "cat.png"
    with Image.open(example_photos()[1]) as example:
        example.resize((64, 48)).save(photo)
    page, requested = open_with_upload(browser, url, photo)
    with page.expect_download() as download:
        page.locator("#download").click()  # waits until the result is there
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    with Image.open(saved) as result:
        assert (result.mode, result.size) == ("RGB", (64, 48))
        pixels = np.asarray(result, dtype=int)
    assert np.abs(pixels - pixels.mean(axis=2, keepdims=True)).max() >= 3  # not grey
    assert "cat.png, 64×48 pixels" in page.locator("#status textarea").input_value()
    hosts = {urlsplit(address).netloc for address in requested if address.startswith("http")}
    assert hosts == {urlsplit(url).netloc}  # offline: no font, script or telemetry from outside


def test_a_bad_file_shows_its_one_line_error(browser, url, tmp_path):
    from playwright.sync_api import expect

    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"this is not a photo")
    page, _ = open_with_upload(browser, url, bad)
    status = page.locator("#status textarea")
    line = re.compile(r"^bad\.jpg: not a readable image \(.*\)$")
    expect(status).to_have_value(line, timeout=TIMEOUT_MS)
    expect(page.locator("#download")).to_be_hidden()
    assert "Traceback" not in page.content()


def test_a_hint_placed_by_a_click_is_marked_listed_and_run_with(browser, hint_url, tmp_path):
    from playwright.sync_api import expect

    page, picture, listed = click_a_hint(browser, hint_url, tmp_path)
    expect(listed).to_have_value(
        re.compile(r"^\((1[5-7]), (2[3-5]), #c0392b\)$"), timeout=TIMEOUT_MS
    )
    x, y = (int(v) for v in re.findall(r"\d+", listed.input_value())[:2])
    marked = page.request.get(picture.get_attribute("src")).body()  # the picture shown
    with Image.open(io.BytesIO(marked)) as shown:
        assert shown.size == (64, 48) and shown.convert("RGB").getpixel((x, y)) == (192, 57, 43)
    page.click("#colour")
    status = page.locator("#status textarea")
    expect(status).to_have_value(
        re.compile(r"^pyramid with 1 colour hint: .*cat\.png, 64×48"), timeout=TIMEOUT_MS
    )
    download, saved = download_result(page, tmp_path)
    assert download.suggested_filename == "cat_pyramid_hinted.png"
    with Image.open(saved) as result:
        assert (result.mode, result.size) == ("RGB", (64, 48))


def test_the_shipped_colorizer_shows_a_clicked_hints_colour(browser, url, tmp_path):
    from playwright.sync_api import expect

    page, _, listed = click_a_hint(browser, url, tmp_path)
    expect(listed).to_have_value(re.compile(r"#c0392b\)$"), timeout=TIMEOUT_MS)
    x, y = (int(v) for v in re.findall(r"\d+", listed.input_value())[:2])
    page.click("#colour")
    expect(page.locator("#status textarea")).to_have_value(
        re.compile(r"^pyramid with 1 colour hint: "), timeout=TIMEOUT_MS
    )
    _, saved = download_result(page, tmp_path)
    with Image.open(saved) as result:
        red, green, blue = result.convert("RGB").getpixel((x, y))
    assert red > green + 40 and red > blue + 40  # the hint's red, where it was placed
