"""Colour hints: parsing, rendering, the API, training with sampled hints."""

import json

import numpy as np
import pytest
import torch
from accelerate.state import AcceleratorState
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.cli import main as cli_main
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
from pyramidrefine.training import Trainer, load_config, pyramid_step
from pyramidrefine.training.checks import check_config
from pyramidrefine.training.config import SchemeConfig
from pyramidrefine.training.hints import HintSampling, hint_sampling, sample_guide


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
    again = pr.colorize(
        grey_photo(), model, hints=[(10, 12, "#c0392b", 3)], backend="torch", precision="fp32"
    )
    np.testing.assert_array_equal(np.asarray(again), hinted.astype(np.uint8))
    np.testing.assert_array_equal(np.asarray(colorizer(grey_photo(), hints=[])), plain)


def test_hints_run_through_the_onnxruntime_backend_too():
    model = hint_colorizer()
    photo = torch.rand(1, 3, 40, 48)
    hints = [(10, 12, "#c0392b", 3), (40, 30, (20, 90, 200))]
    torch_rgb = pr.Colorizer(model, backend="torch")(photo, hints=hints)
    onnx_rgb = pr.Colorizer(model, backend="onnxruntime")(photo, hints=hints)
    assert float((torch_rgb - onnx_rgb).abs().max()) < 1e-2


def test_hints_for_a_model_with_another_guide_are_one_line(other_guide_colorizer):
    colorizer = pr.Colorizer(other_guide_colorizer, backend="torch")
    with pytest.raises(pr.ConfigurationError, match="this model takes no colour hints") as error:
        colorizer(grey_photo(), hints=[(1, 1, "#ffffff")])
    assert "\n" not in str(error.value)
    colorizer(grey_photo(), hints=[])  # no hint: nothing to refuse
    with pytest.raises(pr.InvalidInputError, match="outside the 48×40 image"):
        pr.Colorizer(hint_colorizer(), backend="torch")(grey_photo(), hints=[(48, 0, "#ffffff")])


def test_sampled_hints_hold_the_true_targets_mean_and_draw_from_the_seed():
    targets = torch.rand(4, 2, 24, 20) * 2 - 1
    points = HintSampling(mean_count=1, none_fraction=0, max_patch=1)
    guide = sample_guide(targets, points, torch.Generator().manual_seed(1))
    assert guide.shape == (4, 3, 24, 20)
    assert guide[:, 2].sum(dim=(1, 2)).tolist() == [1.0] * 4  # one point each
    hinted = guide[:, 2:] > 0
    torch.testing.assert_close(
        guide[:, :2][hinted.expand(-1, 2, -1, -1)], targets[hinted.expand(-1, 2, -1, -1)]
    )
    again = sample_guide(targets, points, torch.Generator().manual_seed(1))
    torch.testing.assert_close(guide, again, rtol=0, atol=0)
    patches = sample_guide(targets, HintSampling(1, 0, 5), torch.Generator().manual_seed(2))
    for sample in range(4):
        rows, cols = torch.nonzero(patches[sample, 2], as_tuple=True)
        patch = targets[sample, :, rows.min() : rows.max() + 1, cols.min() : cols.max() + 1]
        assert rows.max() - rows.min() == cols.max() - cols.min() < 5  # one square patch
        torch.testing.assert_close(patches[sample, :2, rows[0], cols[0]], patch.mean(dim=(1, 2)))
    empty = sample_guide(targets, HintSampling(8, 1.0, 5), torch.Generator().manual_seed(3))
    assert float(empty.abs().sum()) == 0


def test_hint_counts_are_geometric_with_the_configured_mean():
    targets = torch.zeros(400, 2, 64, 64)
    guide = sample_guide(targets, HintSampling(8, 0.25, 1), torch.Generator().manual_seed(0))
    counts = guide[:, 2].sum(dim=(1, 2))  # points may coincide: at most a few
    assert 0.2 < float((counts == 0).float().mean()) < 0.3
    assert 7 < float(counts[counts > 0].mean()) < 9


@pytest.mark.parametrize(
    ("hints", "message"),
    [
        ("{mean_count: 0}", r"data\.hints\.mean_count=0 must be a number from 1 to 64"),
        ("{none_fraction: 2}", r"data\.hints\.none_fraction=2 must be a fraction"),
        ("{max_patch: 0}", r"data\.hints\.max_patch=0 must be an integer from 1 to 32"),
        ("{max_patch: 2.5}", r"data\.hints\.max_patch=2\.5"),
        ("{points: 3}", r"unknown key\(s\) \['points'\] in data\.hints"),
        ("many", r"data\.hints=.* must be"),
    ],
)
def test_bad_hint_sampling_is_refused_before_training(tmp_path, photo_folder, hints, message):
    config = load_config(
        None, [f"data.train={photo_folder}", f"data.hints={hints}", "model.guide_channels=3"]
    )
    with pytest.raises(pr.ConfigurationError, match=message):
        check_config(config)


def test_hints_need_a_model_with_a_guide_of_the_targets_channels(photo_folder):
    config = load_config(None, [f"data.train={photo_folder}", "data.hints={}"])
    with pytest.raises(pr.ConfigurationError, match=r"set model\.guide_channels=3"):
        hint_sampling(config, pr.ColorizationTask())
    assert (
        hint_sampling(load_config(None, ["model.guide_channels=3"]), pr.ColorizationTask()) is None
    )


def guide_reader(in_channels: int, out_channels: int) -> torch.nn.Module:
    """A 1×1 convolution whose output is the guide's values (channels 4 and 5 of 7)."""
    conv = torch.nn.Conv2d(in_channels, out_channels, 1, bias=False)
    with torch.no_grad():
        conv.weight.zero_()
        conv.weight[0, 4] = conv.weight[1, 5] = 1.0
    return conv


@pytest.mark.parametrize("scheme", ["unrolled", "per_level"])
def test_the_scheme_gives_every_level_its_crop_of_the_guide(scheme):
    model = pr.CoarseToFine(
        guide_reader, in_channels=1, out_channels=2, base_size=16, guide_channels=3
    )
    rows, cols = torch.meshgrid(torch.arange(32.0), torch.arange(32.0), indexing="ij")
    targets = torch.stack([rows / 32, cols / 64 - 0.25])[None].repeat(2, 1, 1, 1)  # ramps
    guide = torch.cat([targets, torch.ones(2, 1, 32, 32)], dim=1)
    config = SchemeConfig(name=scheme, level_weights=[1.0, 1.0], crop_levels=True)
    for seed in range(4):
        levels = pyramid_step(
            model, torch.zeros(2, 1, 32, 32), targets, config, step=0, max_steps=1,
            generator=torch.Generator().manual_seed(seed), guide=guide,
        )  # fmt: skip
        for level in levels:  # a ramp's area mean and its bilinear resize agree inside
            inside = (..., slice(1, -1), slice(1, -1))
            torch.testing.assert_close(level.prediction[inside], level.target[inside])


def test_two_training_steps_with_hints_from_a_guide_free_model(tmp_path, photo_folder):
    AcceleratorState._reset_state(reset_partial_state=True)
    start = pr.CoarseToFine(
        "unet", in_channels=1, out_channels=2, base_size=16, base_channels=4, depth=2
    )
    start.save_pretrained(tmp_path / "start")
    config = load_config(
        None,
        [
            f"output_dir={tmp_path / 'run'}",
            f"data.train={photo_folder}",
            "max_steps=2",
            "checkpoint_every=2",
            "validate_every=2",
            "data.image_size=32",
            "data.batch_size=2",
            "data.val_fraction=0.25",
            "data.val_max_images=1",
            "model.base_channels=4",
            "model.depth=2",
            "model.base_size=16",
            "model.guide_channels=3",
            f"model.init_from={tmp_path / 'start'}",
            "data.hints={mean_count: 4, none_fraction: 0, max_patch: 3}",
            "optim.lr=0.01",
        ],
    )
    trainer = Trainer(config)
    stem = trainer.model.generators[0].stem[0].weight.detach()
    torch.testing.assert_close(stem[:, :4], start.generators[0].stem[0].weight)
    assert float(stem[:, 4:].abs().sum()) == 0  # zero-initialised guide weights
    trainer.fit()
    assert trainer.state.step == 2
    assert float(trainer.model.generators[0].stem[0].weight[:, 4:].abs().sum()) > 0  # learnt
    saved = json.loads((tmp_path / "run" / "model" / "config.json").read_text())
    assert saved["guide_channels"] == 3
    photo = torch.rand(1, 3, 32, 32)
    hinted = pr.colorize(photo, tmp_path / "run" / "model", hints=[(3, 4, "#c0392b", 3)])
    assert hinted.shape == photo.shape


def write_grey(path, size=(48, 40)):
    path.parent.mkdir(parents=True, exist_ok=True)
    grey_photo().resize(size).save(path)
    return path


@pytest.fixture
def hint_model_dir(tmp_path):
    hint_colorizer().save_pretrained(tmp_path / "hint-model")
    return tmp_path / "hint-model"


def colorize_cli(*args):
    return cli_main(["colorize", *map(str, args), "--backend", "torch"])


def test_cli_hints_from_flags_and_a_file_colour_each_input_with_its_own(
    tmp_path, hint_model_dir, capsys
):
    a, b = write_grey(tmp_path / "in" / "a.png"), write_grey(tmp_path / "in" / "b.png")
    plain, out = tmp_path / "plain", tmp_path / "out"
    assert colorize_cli(a, b, "--out", plain, "--model", hint_model_dir) == 0
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"a.png": [[10, 12, "#c0392b", 3]]}))
    code = colorize_cli(tmp_path / "in", "--out", out, "--model", hint_model_dir, "--hints", hints)
    assert code == 0 and "2 coloured, 0 failed" in capsys.readouterr().out

    def pixels(path):
        return np.asarray(Image.open(path), np.float32)

    assert np.abs(pixels(out / "a_color.png") - pixels(plain / "a_color.png")).max() > 1
    np.testing.assert_array_equal(pixels(out / "b_color.png"), pixels(plain / "b_color.png"))
    flagged = tmp_path / "flagged"
    code = colorize_cli(b, "--out", flagged, "--model", hint_model_dir, "--hint", "10,12,#c0392b,3")
    assert code == 0
    np.testing.assert_array_equal(pixels(flagged / "b_color.png"), pixels(out / "a_color.png"))


def one_line(capsys):
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_cli_hint_errors_are_one_line(tmp_path, hint_model_dir, other_guide_colorizer, capsys):
    photo = write_grey(tmp_path / "a.png")
    out = tmp_path / "out"
    with pytest.raises(SystemExit) as exit_info:
        colorize_cli(photo, "--out", out, "--model", hint_model_dir, "--hint", "10,12")
    last = capsys.readouterr().err.strip().splitlines()[-1]  # argparse's usage, then this
    assert exit_info.value.code == 2 and "argument --hint: hint '10,12' must look like" in last
    other_guide_colorizer.save_pretrained(tmp_path / "other-model")
    code = colorize_cli(
        photo, "--out", out, "--model", tmp_path / "other-model", "--hint", "1,1,#ffffff"
    )
    assert code == 2 and "takes no colour hints" in one_line(capsys)
    hints = tmp_path / "hints.json"
    hints.write_text(json.dumps({"typo.png": [[1, 1, "#ffffff"]]}))
    code = colorize_cli(photo, "--out", out, "--model", hint_model_dir, "--hints", hints)
    assert code == 2 and "'typo.png' names none of the inputs" in one_line(capsys)
    hints.write_text("[[1, 1")
    code = colorize_cli(photo, "--out", out, "--model", hint_model_dir, "--hints", hints)
    assert code == 2 and "not a JSON hints file" in one_line(capsys)
    small = write_grey(tmp_path / "small.png", size=(20, 10))
    code = colorize_cli(
        photo, small, "--out", out, "--model", hint_model_dir, "--hint", "30,5,#ffffff"
    )
    assert (
        code == 1
        and "small.png: hint 1 ([30, 5, '#ffffff']): (30, 5) lies outside the 20×10 image"
        in one_line(capsys)
    )
    assert (out / "a_color.png").is_file() and not (out / "small_color.png").exists()
