import io
import logging

import datasets
import numpy as np
import pytest
import torch
from PIL import Image

import pyramidrefine as pr
from pyramidrefine.data import ImageCropDataset, crop_image, filter_images, open_image

COLOUR_FILES = ["a.png", "b.png", "c.jpg", "d.jpg"]


def _colour(rng: np.random.Generator, size=(20, 30)) -> Image.Image:
    return Image.fromarray(rng.integers(0, 256, (*size, 3), dtype=np.uint8))


def _png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.fixture(autouse=True)
def _offline_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_DATASETS_OFFLINE", "1")


@pytest.fixture
def image_folder(tmp_path):
    """4 colour images, 2 greyscale ones and 2 unreadable files."""
    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for name in COLOUR_FILES:
        _colour(rng).save(folder / name)
    Image.fromarray(rng.integers(0, 256, (20, 30), dtype=np.uint8)).save(folder / "grey.png")
    Image.new("RGB", (30, 20), (90, 90, 90)).save(folder / "flat-grey.png")
    (folder / "corrupt.jpg").write_bytes(rng.bytes(400))
    whole = _png_bytes(_colour(rng, (64, 64)))
    (folder / "truncated.png").write_bytes(whole[: len(whole) // 2])
    return folder


def test_imagefolder_skips_and_counts_greyscale_and_unreadable(image_folder, tmp_path, caplog):
    dataset = pr.load_image_dataset(image_folder, cache_dir=tmp_path / "cache")
    assert len(dataset) == 8
    with caplog.at_level(logging.INFO, logger="pyramidrefine.data"):
        kept, report = filter_images(dataset)
    assert (report.kept, report.skipped_greyscale, report.skipped_unreadable) == (4, 2, 2)
    assert sorted(row["image"]["path"].rsplit("/", 1)[-1] for row in kept) == COLOUR_FILES
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 2
    assert any("corrupt.jpg" in w for w in warnings) and any("truncated.png" in w for w in warnings)
    assert "kept 4 images, skipped 2 greyscale and 2 unreadable" in caplog.text


def test_file_names_never_make_splits_but_split_folders_do(tmp_path):
    rng = np.random.default_rng(1)
    flat = tmp_path / "flat"
    flat.mkdir()
    for name in ["bullet_train.jpg", "cup.png", "test_tube.png", "kettle.jpg"]:
        _colour(rng).save(flat / name)
    assert len(pr.load_image_dataset(flat, cache_dir=tmp_path / "cache")) == 4
    split = tmp_path / "split"
    for folder, names in {"train": ["a.png", "b.png", "c.png"], "test": ["d.png"]}.items():
        (split / folder).mkdir(parents=True)
        for name in names:
            _colour(rng).save(split / folder / name)
    assert len(pr.load_image_dataset(split, cache_dir=tmp_path / "cache")) == 3
    assert len(pr.load_image_dataset(split, split="test", cache_dir=tmp_path / "cache")) == 1


def test_streaming_is_filtered_lazily(image_folder, tmp_path):
    stream = pr.load_image_dataset(image_folder, streaming=True, cache_dir=tmp_path / "cache")
    assert isinstance(stream, datasets.IterableDataset)
    kept, report = filter_images(stream)
    assert report.kept == report.skipped_greyscale == report.skipped_unreadable == 0
    assert len(list(kept)) == 4
    assert (report.kept, report.skipped_greyscale, report.skipped_unreadable) == (4, 2, 2)


def test_crops_have_the_right_shape_range_and_are_reproducible(image_folder, tmp_path):
    dataset, _ = filter_images(pr.load_image_dataset(image_folder, cache_dir=tmp_path / "c"))
    crops = ImageCropDataset(dataset, 32, seed=3)
    first = crops[0]
    assert first.shape == (3, 32, 32) and first.dtype == torch.float32
    assert first.min() >= 0 and first.max() <= 1
    assert torch.equal(first, ImageCropDataset(dataset, 32, seed=3)[0])
    assert not torch.equal(first, ImageCropDataset(dataset, 32, seed=4)[0])
    crops.set_epoch(1)
    assert not torch.equal(first, crops[0])
    batch = next(iter(torch.utils.data.DataLoader(crops, batch_size=3, num_workers=0)))
    assert batch.shape == (3, 3, 32, 32)
    val = ImageCropDataset(dataset, 16, train=False)
    assert torch.equal(val[1], ImageCropDataset(dataset, 16, train=False, seed=9)[1])


def test_center_crop_and_flip():
    image = Image.new("RGB", (60, 40), (255, 0, 0))
    image.paste((0, 0, 255), (0, 0, 10, 40))  # blue strip on the left, outside the centre
    centre = crop_image(image, 20, train=False)
    assert torch.allclose(centre[:, 10, 10], torch.tensor([1.0, 0.0, 0.0]))
    strip = Image.new("RGB", (40, 40), (255, 0, 0))
    strip.paste((0, 0, 255), (0, 0, 20, 40))
    flips = {
        crop_image(strip, 40, scale=(1.0, 1.0), generator=torch.Generator().manual_seed(s))[
            2, 20, 2
        ].item()
        for s in range(8)
    }
    assert flips == {0.0, 1.0}  # blue left half ends up on the right in some crops


def test_exif_orientation_is_respected(tmp_path):
    path = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise to display
    _colour(np.random.default_rng(1), (20, 30)).save(path, exif=exif)
    assert open_image(str(path)).size == (20, 30)


def test_split_is_deterministic_and_disjoint():
    dataset = datasets.Dataset.from_dict({"n": list(range(20))})
    train, val = pr.split_dataset(dataset, val_fraction=0.25, seed=7)
    again = pr.split_dataset(dataset, val_fraction=0.25, seed=7)
    assert (len(train), len(val)) == (15, 5)
    assert list(train["n"]) == list(again[0]["n"]) and list(val["n"]) == list(again[1]["n"])
    assert sorted([*train["n"], *val["n"]]) == list(range(20))
    assert list(pr.split_dataset(dataset, 0.25, seed=8)[1]["n"]) != list(val["n"])


def _bytes_dataset(count: int) -> datasets.Dataset:
    rng = np.random.default_rng(2)
    rows = [{"bytes": _png_bytes(_colour(rng)), "path": None} for _ in range(count)]
    rows.append({"bytes": b"not an image", "path": None})
    features = datasets.Features({"image": datasets.Image(), "label": datasets.Value("int64")})
    return datasets.Dataset.from_dict(
        {"image": rows, "label": list(range(count + 1))}, features=features
    )


def test_parquet_file_and_folder_sources(tmp_path):
    folder = tmp_path / "parquet"
    folder.mkdir()
    _bytes_dataset(3).to_parquet(folder / "part-0.parquet")
    for source in (folder / "part-0.parquet", folder):
        dataset = pr.load_image_dataset(source, cache_dir=tmp_path / "cache")
        assert dataset.features["image"] == datasets.Image(decode=False)
        kept, report = filter_images(dataset)
        assert (report.kept, report.skipped_unreadable) == (3, 1)
        assert ImageCropDataset(kept, 8)[2].shape == (3, 8, 8)


def test_saved_to_disk_and_arrow_sources(tmp_path):
    _bytes_dataset(2).save_to_disk(tmp_path / "saved")
    dataset = pr.load_image_dataset(tmp_path / "saved")
    assert len(dataset) == 3 and dataset.features["image"] == datasets.Image(decode=False)
    arrow = next((tmp_path / "saved").glob("*.arrow"))
    assert len(pr.load_image_dataset(arrow)) == 3
    assert len(list(pr.load_image_dataset(arrow, streaming=True))) == 3


def test_errors_say_what_to_do(tmp_path, image_folder):
    with pytest.raises(pr.ConfigurationError, match="no such file or folder"):
        pr.load_image_dataset(tmp_path / "missing")
    with pytest.raises(pr.ConfigurationError, match="pass image_column="):
        pr.load_image_dataset(image_folder, image_column="picture", cache_dir=tmp_path / "c")
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(pr.ConfigurationError, match=r"unsupported file type '\.txt'"):
        pr.load_image_dataset(tmp_path / "notes.txt")
    grey = datasets.Dataset.from_dict(
        {"image": [{"bytes": _png_bytes(Image.new("L", (8, 8))), "path": None}]},
        features=datasets.Features({"image": datasets.Image(decode=False)}),
    )
    with pytest.raises(pr.DataError, match="1 greyscale, 0 unreadable"):
        filter_images(grey)
    with pytest.raises(pr.ConfigurationError, match="strictly in"):
        pr.split_dataset(grey, 1.0, seed=0)
    with pytest.raises(pr.ConfigurationError, match="cannot be split by fraction"):
        pr.split_dataset(grey.to_iterable_dataset(), 0.5, seed=0)
    with pytest.raises(pr.ImageReadError, match="row 0"):
        ImageCropDataset(_bytes_dataset(0), 8)[0]
