"""The decode-once image cache and the batches cut from it."""

import numpy as np
import pytest
import torch
from PIL import Image

from pyramidrefine.data import load_image_dataset
from pyramidrefine.errors import ConfigurationError, DataError
from pyramidrefine.training import cache as cache_module
from pyramidrefine.training.cache import CachedCrops, build_image_cache, square_thumbnail
from pyramidrefine.training.data import validation_images


@pytest.fixture
def mixed_folder(tmp_path, photo_folder):
    """The 8 colour photos plus one greyscale photo and one corrupt file."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for path in sorted(photo_folder.glob("*.png")):
        (folder / path.name).write_bytes(path.read_bytes())
    Image.new("L", (50, 30), 128).save(folder / "grey.png")
    (folder / "broken.png").write_bytes(b"not an image")
    return folder


def test_cache_keeps_colour_photos_once_and_is_reused(tmp_path, mixed_folder, monkeypatch):
    dataset = load_image_dataset(mixed_folder)
    images = build_image_cache(dataset, 24, tmp_path / "cache", "key")
    assert images.shape == (8, 24, 24, 3) and images.dtype == np.uint8
    assert images.std() > 0
    monkeypatch.setattr(cache_module, "open_image", lambda *a, **k: pytest.fail("decoded again"))
    again = build_image_cache(dataset, 24, tmp_path / "cache", "key")
    np.testing.assert_array_equal(again, images)


def test_square_thumbnail_keeps_the_centre():
    image = np.zeros((20, 60, 3), np.uint8)
    image[:, 20:40] = 255  # a white centre third
    thumbnail = square_thumbnail(Image.fromarray(image), 10)
    assert thumbnail.shape == (10, 10, 3)
    assert thumbnail[:, 2:8].min() > 200  # the centre of a wide photo stays


def crops(seed=0, crop=16, batch=3):
    images = np.random.default_rng(0).integers(0, 256, (5, 24, 24, 3), dtype=np.uint8)
    return CachedCrops(images, crop, batch, seed=seed)


def test_batches_are_reproducible_per_number_and_process():
    batch = crops().batch(7)
    assert batch.shape == (3, 3, 16, 16) and batch.dtype == torch.float32
    assert batch.min() >= 0 and batch.max() <= 1
    torch.testing.assert_close(crops().batch(7), batch, rtol=0, atol=0)
    assert not torch.equal(crops().batch(8), batch)
    assert not torch.equal(crops().batch(7, rank=1), batch)
    assert not torch.equal(crops(seed=1).batch(7), batch)
    resumed = crops().batches(start=7)
    torch.testing.assert_close(next(resumed), batch, rtol=0, atol=0)


def test_a_crop_is_a_piece_of_a_cached_photo():
    source = crops(crop=24, batch=1)
    batch = source.batch(0)[0]
    photos = torch.from_numpy(source.images.numpy()).permute(0, 3, 1, 2).float() / 255
    matches = [torch.equal(batch, p) or torch.equal(batch, p.flip(-1)) for p in photos]
    assert any(matches)


def test_cache_errors_name_the_setting():
    with pytest.raises(ConfigurationError, match="cache_size"):
        crops(crop=32)
    with pytest.raises(DataError, match="batch_size"):  # too few photos: a data problem
        crops(batch=6)


def test_validation_images_are_capped(photo_folder):
    images = validation_images(str(photo_folder), max_images=2, max_side=24)
    assert [tuple(i.shape) for i in images] == [(1, 3, 20, 24)] * 2
    full = validation_images(str(photo_folder), max_images=1, max_side=None)
    assert tuple(full[0].shape) == (1, 3, 40, 48)
