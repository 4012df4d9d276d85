"""Colour hints: parsing, rendering, the API, training with sampled hints."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.guides import add_guide_channels
from pyramidrefine.hints import (
    MAX_HINTS,
    Hint,
    parse_hint,
    parse_hint_text,
    parse_hints,
    read_hints_file,
    render_guide,
)
from pyramidrefine.lab import AB_SCALE, rgb_to_lab


def test_hints_parse_from_tuples_hex_strings_and_objects():
    hints = parse_hints(
        [
            (3, 4, (192, 57, 43)),
            [5, 6, "#C0392b", 3],
            {"x": 0, "y": 0, "color": "#00ff00"},
            (1, 2, np.array([1, 2, 3]).tolist()),
        ],
        width=10,
        height=8,
    )
    assert hints[0] == Hint(3, 4, (192, 57, 43), 1)
    assert hints[1] == Hint(5, 6, (192, 57, 43), 3)
    assert hints[2].rgb == (0, 255, 0) and hints[3].rgb == (1, 2, 3)
    assert parse_hints([], 10, 8) == []


@pytest.mark.parametrize(
    ("hint", "message"),
    [
        ((10, 4, "#c0392b"), r"hint 1 .*outside the 10×8 image; give x in 0..9 and y in 0..7"),
        ((-1, 4, "#c0392b"), "outside"),
        ((3, 8, "#c0392b"), "outside"),
        ((3, 4, "#c0392"), "is not a colour; give '#rrggbb'"),
        ((3, 4, "red"), "is not a colour"),
        ((3, 4, (256, 0, 0)), "is not a colour"),
        ((3, 4, (1.5, 0, 0)), "is not a colour"),
        ((3, 4, "#c0392b", 0), "size 0 must be an integer from 1 to 32"),
        ((3, 4, "#c0392b", 33), "size 33"),
        ((3.5, 4, "#c0392b"), "x and y must be integers"),
        ((True, 4, "#c0392b"), "x and y must be integers"),
        ((3, 4), "not a hint"),
        ("3,4,#c0392b", "not a hint"),
        ({"x": 3, "y": 4, "colour": "#c0392b", "alpha": 1}, r"unknown key\(s\) \['alpha'\]"),
    ],
)
def test_a_bad_hint_is_one_line_naming_it_and_the_fix(hint, message):
    with pytest.raises(pr.InvalidInputError, match=message) as error:
        parse_hint(hint, width=10, height=8)
    assert "\n" not in str(error.value) and "hint 1" in str(error.value)


def test_too_many_hints_or_not_a_list_are_refused():
    with pytest.raises(pr.InvalidInputError, match=f"more than the {MAX_HINTS}"):
        parse_hints([(0, 0, "#ffffff")] * (MAX_HINTS + 1), 4, 4)
    with pytest.raises(pr.InvalidInputError, match="hints must be a list"):
        parse_hints("0,0,#ffffff", 4, 4)
    with pytest.raises(pr.InvalidInputError, match="hint 2"):
        parse_hints([(0, 0, "#ffffff"), (9, 0, "#ffffff")], 4, 4)


def test_the_guide_holds_the_hint_colours_ab_and_a_mask():
    red = (192, 57, 43)
    guide = render_guide([Hint(2, 1, red), Hint(0, 5, (0, 0, 255), 3)], 6, 7)
    assert guide.shape == (3, 6, 7) and guide.dtype == np.float32
    lab = rgb_to_lab(np.array(red, np.float32) / 255)
    np.testing.assert_allclose(guide[:2, 1, 2], lab[1:] / AB_SCALE, rtol=1e-6)
    assert guide[2, 1, 2] == 1.0
    # the 3×3 patch around (x=0, y=5) is cut at the border: rows 4-5, column 0-1
    assert guide[2].sum() == 1 + 4 and guide[2, 4:6, 0:2].all()
    assert guide[:2, 0].sum() == 0 and float(abs(guide[1, 5, 0])) > 0.5  # blue: b far below 0


def test_command_line_hints_and_their_errors():
    assert parse_hint_text("270,228,#c0392b") == [270, 228, "#c0392b"]
    assert parse_hint_text(" 1, 2 ,#c0392b,5") == [1, 2, "#c0392b", 5]
    for bad in ("270,228", "a,228,#c0392b", "1,2,#c0392b,x", "1;2;#c0392b"):
        with pytest.raises(pr.InvalidInputError, match="X,Y,#RRGGBB"):
            parse_hint_text(bad)


def test_hints_files_hold_a_list_or_an_object_of_lists(tmp_path):
    one, many = tmp_path / "one.json", tmp_path / "many.json"
    one.write_text(json.dumps([[270, 228, "#c0392b"], {"x": 1, "y": 2, "colour": [1, 2, 3]}]))
    many.write_text(json.dumps({"a.jpg": [[1, 2, "#ffffff"]], "b.jpg": []}))
    assert read_hints_file(one)[0] == [270, 228, "#c0392b"]
    assert read_hints_file(many) == {"a.jpg": [[1, 2, "#ffffff"]], "b.jpg": []}
    bad = tmp_path / "bad.json"
    for text, message in [
        ("{", "not a JSON hints file"),
        ('{"a.jpg": 3}', "holds a JSON list of hints"),
        ('"hint"', "holds a JSON list of hints"),
    ]:
        bad.write_text(text)
        with pytest.raises(pr.InvalidInputError, match=message):
            read_hints_file(bad)
    with pytest.raises(pr.InvalidInputError, match="cannot read the hints file"):
        read_hints_file(tmp_path / "missing.json")


def hint_colorizer() -> pr.CoarseToFine:
    """A tiny colorizer with hint channels whose guide weights are not zero (as if tuned)."""
    model = add_guide_channels(
        pr.CoarseToFine("unet", in_channels=1, out_channels=2, levels=2, base_channels=4, depth=2),
        3,
    )
    with torch.no_grad():
        model.generators[0].stem[0].weight[:, 4:] = 0.5
    return model.eval()


def grey_photo() -> Image.Image:
    return Image.fromarray((np.arange(48 * 40).reshape(40, 48) % 251).astype(np.uint8))


def test_colorizer_and_colorize_take_hints():
    model = hint_colorizer()
    colorizer = pr.Colorizer(model, backend="torch", precision="fp32")
    plain = np.asarray(colorizer(grey_photo()), np.float32)
    hinted = np.asarray(colorizer(grey_photo(), hints=[(10, 12, "#c0392b", 3)]), np.float32)
    assert np.abs(hinted - plain).max() > 1
    again = pr.colorize(grey_photo(), model, hints=[(10, 12, "#c0392b", 3)], backend="torch")
    np.testing.assert_array_equal(np.asarray(again), hinted.astype(np.uint8))
    np.testing.assert_array_equal(np.asarray(colorizer(grey_photo(), hints=[])), plain)


def test_hints_run_through_the_onnxruntime_backend_too():
    model = hint_colorizer()
    photo = torch.rand(1, 3, 40, 48)
    hints = [(10, 12, "#c0392b", 3), (40, 30, (20, 90, 200))]
    torch_rgb = pr.Colorizer(model, backend="torch")(photo, hints=hints)
    onnx_rgb = pr.Colorizer(model, backend="onnxruntime")(photo, hints=hints)
    assert float((torch_rgb - onnx_rgb).abs().max()) < 1e-2


def test_hints_for_a_model_without_hint_channels_are_one_line(tiny_colorizer):
    colorizer = pr.Colorizer(tiny_colorizer, backend="torch")
    with pytest.raises(pr.ConfigurationError, match="this model takes no colour hints") as error:
        colorizer(grey_photo(), hints=[(1, 1, "#ffffff")])
    assert "\n" not in str(error.value)
    colorizer(grey_photo(), hints=[])  # no hint: nothing to refuse
    with pytest.raises(pr.InvalidInputError, match="outside the 48×40 image"):
        pr.Colorizer(hint_colorizer(), backend="torch")(grey_photo(), hints=[(48, 0, "#ffffff")])
