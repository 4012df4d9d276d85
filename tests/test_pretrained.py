import pytest

import pyramidrefine as pr
from pyramidrefine import pretrained


def test_default_colorizer_is_loaded_from_the_package_folder(tiny_colorizer, tmp_path, monkeypatch):
    tiny_colorizer.save_pretrained(tmp_path / "colorizer")
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: tmp_path / "colorizer")
    model = pr.load_colorizer()
    assert isinstance(model, pr.CoarseToFine) and not model.training
    assert (model.levels, model.in_channels, model.out_channels) == (2, 1, 2)


def test_missing_default_weights_say_how_to_pass_a_model(tmp_path, monkeypatch):
    monkeypatch.setattr(pretrained, "default_colorizer_dir", lambda: tmp_path)
    with pytest.raises(pr.ConfigurationError, match=r"not installed.*pass model="):
        pr.load_colorizer()
    with pytest.raises(pr.ConfigurationError, match="not installed"):
        pr.colorize(tmp_path / "photo.png")


def test_the_shipped_folder_is_inside_the_package():
    assert pretrained.default_colorizer_dir().parts[-3:] == (
        "pyramidrefine",
        "weights",
        "colorizer",
    )


@pytest.mark.parametrize(
    ("name", "message"),
    [("./no-such-folder", "no such model folder"), ("a/b/c", "no such model folder")],
)
def test_bad_model_names_are_checkpoint_errors(tmp_path, name, message):
    with pytest.raises(pr.CheckpointError, match=message):
        pr.load_colorizer(name)


def test_a_folder_without_a_model_is_named(tmp_path):
    with pytest.raises(pr.CheckpointError, match=r"no config\.json, so the architecture"):
        pr.load_colorizer(tmp_path)
