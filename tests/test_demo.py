"""The demo's logic without a browser: opening uploads, methods, errors, zoom, the command."""

import os
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import pyramidrefine as pr
from pyramidrefine import METHODS, inference
from pyramidrefine.batch import FILE_ERRORS
from pyramidrefine.cli import build_parser, main
from pyramidrefine.demo import example_photos
from pyramidrefine.demo import runner as runner_module
from pyramidrefine.demo.runner import NO_HINTS, ZOOM_SIDE, DemoRunner, Photo, problem_line, zoom
from pyramidrefine.errors import ConfigurationError


@pytest.fixture
def runner(tiny_colorizer, tmp_path):
    return DemoRunner(tiny_colorizer, tmp_path, device="cpu", precision="fp32", max_side=64)


def grey_photo(path, size):
    pixels = (np.random.default_rng(0).random(size[::-1]) * 255).astype(np.uint8)
    Image.fromarray(pixels, "L").save(path)
    return path


def test_examples_ship_inside_the_package():
    names = [path.name for path in example_photos()]
    assert names == ["astronaut.jpg", "chelsea.jpg", "coffee.jpg", "rocket.jpg"]
    assert all(Image.open(path).mode == "L" for path in example_photos())


def test_small_photos_are_kept_large_ones_scaled_down_with_a_note(runner, tmp_path):
    small = runner.open(grey_photo(tmp_path / "small.png", (40, 30)))
    assert small.image.size == (40, 30) and small.note == ""
    large = runner.open(grey_photo(tmp_path / "large.png", (160, 90)))
    assert large.image.size == (64, 36)
    assert large.note.startswith("large.png: scaled down from 160×90 to 64×36 pixels")
    assert "--max-side 64" in large.note


def test_a_bad_file_gets_the_clis_one_line_error_by_its_name(runner, tmp_path):
    bad = tmp_path / "upload" / "bad.jpg"
    bad.parent.mkdir()
    bad.write_bytes(b"not an image")
    with pytest.raises(FILE_ERRORS) as caught:
        runner.open(bad)
    line = problem_line(bad, caught.value)
    assert line.startswith("bad.jpg: not a readable image")
    assert str(tmp_path) not in line and "\n" not in line


@pytest.mark.parametrize("method", METHODS)
def test_every_method_colours_at_full_size_with_time_and_memory(runner, tmp_path, method):
    photo = runner.open(grey_photo(tmp_path / "p.png", (48, 40)))
    outcome = runner.colour(photo, method, tile=32, base_size=16)  # each takes what it uses
    assert outcome.image.size == (48, 40) and outcome.image.mode == "RGB"
    assert outcome.seconds > 0 and outcome.peak_mb > 0
    assert outcome.summary().startswith(f"{method}: ")
    saved = runner.save(photo, outcome)
    assert saved.name == f"p_{method}.png" and saved.parent.parent == tmp_path
    assert Image.open(saved).size == (48, 40)


def test_compare_runs_every_method_in_order(runner):
    outcomes = runner.compare(Photo("grey.png", Image.new("L", (24, 20), 100)))
    assert [outcome.method for outcome in outcomes] == list(METHODS)


def test_zoom_crops_the_same_region_of_every_image_and_enlarges_it():
    image = Image.fromarray(np.arange(100 * 60, dtype=np.uint32).reshape(60, 100).astype("uint8"))
    crops = zoom([(image, "a"), (image.convert("RGB"), "b")], 1.0, 0.0, 20)
    assert [caption for _, caption in crops] == ["a", "b"]
    assert crops[0][0].size == (ZOOM_SIDE, ZOOM_SIDE)
    expected = image.crop((80, 0, 100, 20)).resize((ZOOM_SIDE, ZOOM_SIDE), Image.NEAREST)
    assert np.array_equal(np.asarray(crops[0][0]), np.asarray(expected))
    assert zoom([(image, "a")], 0.5, 0.5, 512)[0][0].size == (ZOOM_SIDE, round(ZOOM_SIDE * 0.6))


def test_the_page_builds_with_its_controls(runner):
    from pyramidrefine.demo.app import build_page

    page = build_page(runner)
    ids = {block.elem_id for block in page.blocks.values()}
    assert {"photo", "colour", "compare", "status", "download"} <= ids
    assert {"hint-picture", "hint-colour", "hint-list", "remove-hint", "clear-hints"} <= ids
    assert page.analytics_enabled is False


def test_demo_command_serves_locally_by_default():
    args = build_parser().parse_args(["demo"])
    assert (args.host, args.share, args.port, args.model) == ("127.0.0.1", False, None, None)
    assert args.max_side == 2048


def test_demo_command_gives_one_line_errors(capsys, tmp_path):
    assert main(["demo", "--device", "nonsense"]) == 2
    assert main(["demo", "--model", str(tmp_path / "missing")]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 2
    assert all(line.startswith("pyramidrefine demo: error: ") for line in errors)


def test_without_gradio_the_command_names_the_extra(monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "gradio", None)  # import gradio raises ImportError
    monkeypatch.delitem(sys.modules, "pyramidrefine.demo.app", raising=False)
    assert main(["demo"]) == 2
    assert 'pip install -e ".[demo]"' in capsys.readouterr().err


def test_page_handlers_colour_compare_and_report_problems(runner, tmp_path):
    from pyramidrefine.demo.app import NO_PHOTO, colour_photo, compare_methods

    path = str(grey_photo(tmp_path / "wide.png", (128, 32)))
    pair, _, status, *_ = colour_photo(runner, path, "pyramid", None, 0)
    assert [image.size for image in pair] == [(64, 16), (64, 16)]
    assert status.splitlines()[0].startswith("wide.png: scaled down from 128×32 to 64×16")
    gallery, rows, zoomed, kept, _, _ = compare_methods(runner, path, 0, 0, [], 50, 50, 16)
    assert [row[0] for row in rows] == list(METHODS) and len(gallery) == len(METHODS) + 1
    assert len(zoomed) == len(kept) == len(gallery)
    (tmp_path / "notes.txt").write_text("not an image")
    assert colour_photo(runner, str(tmp_path / "notes.txt"), "pyramid", 0, 0)[2].startswith(
        "notes.txt: not a readable image"
    )
    assert colour_photo(runner, None, "pyramid", 0, 0)[2] == NO_PHOTO


def test_page_handlers_refuse_tiny_tiles_big_uploads_and_too_much_work_before_running(
    runner, tmp_path, monkeypatch
):
    from pyramidrefine.demo.app import colour_photo, compare_methods

    ran = []
    monkeypatch.setattr(runner, "colour", lambda *args, **kwargs: ran.append(args))
    path = str(grey_photo(tmp_path / "p.png", (48, 40)))
    status = colour_photo(runner, path, "patchwise", 1, 0)[2]
    assert status.startswith("p.png: tiles of 1 pixels are under the minimum of 64")
    status = compare_methods(runner, path, 16, 0, [], 50, 50, 16)[4]
    assert status.startswith("p.png: tiles of 16 pixels are under the minimum of 64")
    runner.max_work = 1000
    status = colour_photo(runner, path, "pyramid", 0, 0)[2]
    assert status.startswith("p.png: this would run the model over 2,")
    assert status.endswith(
        "pixels, over the demo's limit of 1,000 (--max-work); choose "
        "fewer methods, larger tiles or a smaller photo"
    )
    runner.max_upload = 1000
    status = colour_photo(runner, path, "pyramid", 0, 0)[2]
    size = Path(path).stat().st_size
    assert status.startswith(f"p.png: {size:,} bytes is over the demo's upload limit of 1,000")
    assert ran == [] and "\n" not in status


def test_results_are_removed_between_requests_once_old(runner, tmp_path):
    photo = Photo("p.png", Image.new("L", (24, 20), 100))
    outcome = runner.colour(photo, "pyramid")
    first = runner.save(photo, outcome)
    second = runner.save(photo, outcome)  # a recent result stays (it may not be downloaded yet)
    assert first.exists() and second.exists()
    then = time.time() - 3600
    os.utime(first.parent, (then, then))
    third = runner.save(photo, outcome)
    assert not first.parent.exists() and second.exists() and third.exists()


def test_the_demos_files_live_in_one_temporary_folder_removed_on_exit(monkeypatch):
    from pyramidrefine.cli.demo import temporary_folder

    monkeypatch.setenv("GRADIO_TEMP_DIR", "/somewhere/else")
    with temporary_folder() as results:
        uploads = Path(os.environ["GRADIO_TEMP_DIR"])
        assert results.is_dir() and uploads.parent == results.parent
    assert not results.parent.exists()
    assert os.environ["GRADIO_TEMP_DIR"] == "/somewhere/else"


def test_the_page_limits_uploads_and_cleans_gradios_cache(runner, monkeypatch):
    import gradio as gr

    from pyramidrefine.demo.app import serve
    from pyramidrefine.demo.runner import RESULT_SECONDS

    launched = {}
    monkeypatch.setattr(gr.Blocks, "launch", lambda self, **options: launched.update(options))
    page = serve(runner)
    assert launched["max_file_size"] == runner.max_upload == 50 * 1024**2
    assert page.delete_cache == (RESULT_SECONDS, RESULT_SECONDS)


def test_demo_command_limits(capsys):
    args = build_parser().parse_args(["demo", "--max-upload", "20M", "--max-work", "8"])
    assert (args.max_upload, args.max_work) == (20 * 1024**2, 8)
    assert build_parser().parse_args(["demo", "--max-upload", "none"]).max_upload is None
    with pytest.raises(SystemExit):
        build_parser().parse_args(["demo", "--max-upload", "auto"])
    assert "give a size such as 20M" in capsys.readouterr().err


def test_demo_backend_reaches_the_colorizer(runner, monkeypatch):
    assert build_parser().parse_args(["demo"]).backend == "torch"
    assert build_parser().parse_args(["demo", "--backend", "auto"]).backend == "auto"
    built = []
    real = inference.Colorizer

    def recording(*args, **kwargs):
        built.append(kwargs["backend"])
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "Colorizer", recording)
    runner.backend = "torch"
    runner.colour(Photo("p", Image.new("L", (48, 40), 90)), "lowres")
    assert built == ["torch"]


def test_a_method_is_built_once_and_reused_by_later_requests(runner, monkeypatch):
    built = []
    real = inference.Colorizer

    def recording(*args, **kwargs):
        built.append(kwargs["method"])
        return real(*args, **kwargs)

    monkeypatch.setattr(runner_module, "Colorizer", recording)
    photo = Photo("p", Image.new("L", (48, 40), 90))
    for _ in range(3):
        runner.colour(photo, "pyramid")
    runner.colour(photo, "patchwise", tile=64)
    runner.colour(photo, "patchwise", tile=96)
    assert built == ["pyramid", "patchwise", "patchwise"]
    assert runner.colorizer("pyramid") is runner.colorizer("pyramid")


@pytest.fixture
def hint_runner(tiny_colorizer, tmp_path):
    """A runner with a colorizer that takes colour hints (3 guide channels)."""
    guided = pr.add_guide_channels(tiny_colorizer, 3)
    return DemoRunner(guided, tmp_path, device="cpu", precision="fp32", max_side=64)


def recording_hints(monkeypatch):
    """The hints every Colorizer call gets, as a list (Colorizer still built by the runner)."""
    given = []

    class Recording(inference.Colorizer):
        def __call__(self, image, hints=None):
            given.append(hints)
            return super().__call__(image, hints=hints)

    monkeypatch.setattr(runner_module, "Colorizer", Recording)
    return given


def test_full_size_pixels_map_to_the_scaled_photos_and_back():
    photo = Photo("p.png", Image.new("L", (64, 36)), upload_size=(160, 90))
    assert photo.to_full(10, 20) == (26, 51) and photo.to_image(26, 51) == (10, 20)
    assert photo.to_full(63, 35) == (158, 88) and photo.to_image(159, 89) == (63, 35)
    assert all(photo.to_image(*photo.to_full(x, x // 2)) == (x, x // 2) for x in range(64))
    same = Photo("q.png", Image.new("L", (40, 30)))
    assert same.full_size == (40, 30) and same.to_full(7, 9) == same.to_image(7, 9) == (7, 9)


def test_a_click_places_a_hint_in_the_uploads_pixels_marked_on_a_copy(hint_runner, tmp_path):
    from pyramidrefine.demo.app import clear_hints, place_hint, remove_last_hint, show_photo

    path = str(grey_photo(tmp_path / "big.png", (160, 90)))  # shown at 64×36
    canvas, picture, hints, listed, status = show_photo(hint_runner, path)
    assert picture.size == (64, 36) and (hints, listed) == ([], "")
    assert status.endswith("hints are listed in the full 160×90 photo's pixels")
    hints, picture, listed, status = place_hint(hint_runner, canvas, hints, "#C0392B", (10, 20))
    assert hints == [[26, 51, "#c0392b"]] and listed == "(26, 51, #c0392b)"
    assert status.splitlines()[0].endswith("hints are listed in the full 160×90 photo's pixels")
    assert status.splitlines()[1].startswith("hint 1 at (26, 51), #c0392b; press Colour")
    assert picture.getpixel((10, 20)) == (0xC0, 0x39, 0x2B)  # the marker, in the hint's colour
    assert picture.getpixel((10 + 4, 20)) == (255, 255, 255)  # a light ring round a dark colour
    assert canvas.picture.mode == "L" and canvas.picture.getpixel((10, 20)) != 0xC0  # unmarked
    hints, picture, listed, _ = place_hint(hint_runner, canvas, hints, "#ffee00", (60, 5))
    assert listed.splitlines() == ["(26, 51, #c0392b)", "(151, 13, #ffee00)"]
    assert picture.getpixel((60, 5)) == (255, 238, 0)
    assert picture.getpixel((60 - 4, 5)) == (0, 0, 0)  # a dark ring round a light colour
    hints, picture, listed = remove_last_hint(canvas, hints)
    assert listed == "(26, 51, #c0392b)" and len(set(picture.getpixel((60, 5)))) == 1  # grey
    hints, picture, listed = clear_hints(canvas)
    assert (hints, listed) == ([], "")
    assert np.array_equal(np.asarray(picture.convert("L")), np.asarray(canvas.picture))


def test_hints_reach_the_colorizer_at_the_scaled_photos_pixels(hint_runner, tmp_path, monkeypatch):
    from pyramidrefine.demo.app import colour_photo, compare_methods

    given = recording_hints(monkeypatch)
    built = []
    monkeypatch.setattr(hint_runner, "_colorizers", _Counting(built))
    path = str(grey_photo(tmp_path / "big.png", (160, 90)))
    hints = [[26, 51, "#c0392b"], [159, 89, "#2e7d32"]]  # full-size pixels
    pair, download, status, canvas, picture = colour_photo(
        hint_runner, path, "pyramid", 0, 0, hints
    )
    assert given == [[(10, 20, (0xC0, 0x39, 0x2B), 1), (63, 35, (0x2E, 0x7D, 0x32), 1)]]
    assert status.splitlines()[1].startswith("pyramid with 2 colour hints: ")
    saved = Path(download.value["path"])
    assert saved.name == "big_pyramid_hinted.png"
    assert Image.open(saved).size == pair[1].size == (64, 36)
    assert canvas.picture is pair[1] and picture.getpixel((10, 20)) == (0xC0, 0x39, 0x2B)
    colour_photo(hint_runner, path, "pyramid", 0, 0, [])  # no hint: the same Colorizer
    assert given[-1] is None and built == ["pyramid"]
    compare_methods(hint_runner, path, 0, 0, hints[:1], 50, 50, 16)
    assert given[-len(METHODS) :] == [[(10, 20, (0xC0, 0x39, 0x2B), 1)]] * len(METHODS)


class _Counting(dict):
    """A Colorizer cache that notes the method of each Colorizer put in it."""

    def __init__(self, built):
        super().__init__()
        self.built = built

    def __setitem__(self, key, value):
        self.built.append(key[0])
        super().__setitem__(key, value)


def test_a_model_with_another_guide_says_so_in_one_line(other_guide_colorizer, tmp_path):
    from pyramidrefine.demo.app import build_page, colour_photo, place_hint, show_photo

    runner = DemoRunner(
        other_guide_colorizer, tmp_path, device="cpu", precision="fp32", max_side=64
    )
    path = str(grey_photo(tmp_path / "p.png", (48, 40)))
    canvas, *_ = show_photo(runner, path)
    hints, picture, listed, status = place_hint(runner, canvas, [], "#c0392b", (5, 5))
    assert status == NO_HINTS and "\n" not in status
    assert status.startswith("this model takes no colour hints; load a colorizer with")
    assert "--model" in status
    assert all(update == {"__type__": "update"} for update in (hints, picture, listed))  # kept
    status = colour_photo(runner, path, "pyramid", 0, 0, [[5, 5, "#c0392b"]])[2]
    assert status == f"p.png: {NO_HINTS}"
    with pytest.raises(ConfigurationError, match="takes no colour hints"):
        runner.colour(canvas.photo, "pyramid", hints=[(5, 5, "#c0392b")])
    markdown = [b.value for b in build_page(runner).blocks.values() if hasattr(b, "value")]
    assert any(isinstance(text, str) and NO_HINTS in text for text in markdown)
