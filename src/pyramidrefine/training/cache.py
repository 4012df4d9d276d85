"""Decode once, train fast: a fixed-size uint8 image cache and batches cut on the device.

Every training photo is decoded a single time, resized (shorter side) and centre-cropped to
``size × size`` and stored in a memory-mapped ``.npy`` file on disk, so later runs and
resumed runs skip decoding altogether. Batches are random crops and mirror flips drawn on
the training device from a generator seeded by ``(seed, batch number, process)``: a
resumed run sees exactly the batches an uninterrupted one would. On a GPU the whole
cache moves to device memory when it fits (``keep_on_device``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
import torch
from einops import rearrange
from PIL import Image

from ..atomic import atomic_path, write_text_atomic
from ..data import is_greyscale, open_image
from ..errors import ConfigurationError, DataError, ImageReadError
from ..progress import track
from .checks import check_enough_images

logger = logging.getLogger(__name__)
CACHE_VERSION = 1
DEVICE_MEMORY_SHARE = 0.5  # at most this share of free GPU memory holds the cache


def cache_key(sources: list[str], size: int, rows: int) -> str:
    """Name of the cache for these sources, image size and row count."""
    text = json.dumps([CACHE_VERSION, sorted(map(str, sources)), size, rows])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_image_cache(
    dataset: datasets.Dataset, size: int, folder: str | os.PathLike, key: str
) -> np.ndarray:
    """``N×size×size×3`` uint8 array of the colour images of ``dataset``, memory-mapped.

    Built once under ``folder/key.npy`` (atomically, with a progress bar; unreadable and
    greyscale images skipped with a count) and reused by every later call with that key.
    """
    folder = Path(folder)
    array_path, meta_path = folder / f"{key}.npy", folder / f"{key}.json"
    if array_path.is_file() and meta_path.is_file():
        count = json.loads(meta_path.read_text())["count"]
        return np.load(array_path, mmap_mode="c")[:count]
    folder.mkdir(parents=True, exist_ok=True)
    skipped = {"greyscale": 0, "unreadable": 0}
    with atomic_path(array_path) as temporary:
        array = np.lib.format.open_memmap(
            temporary, mode="w+", dtype=np.uint8, shape=(len(dataset), size, size, 3)
        )
        count = 0
        for index, row in enumerate(track(dataset, f"caching images at {size} px")):
            try:
                image = open_image(row["image"], name=f"row {index}")
            except ImageReadError as error:
                logger.warning("skipping %s", error)
                skipped["unreadable"] += 1
                continue
            if is_greyscale(image):
                skipped["greyscale"] += 1
                continue
            array[count] = square_thumbnail(image, size)
            count += 1
        array.flush()
        del array
    if not count:
        raise DataError(f"no usable colour images among {len(dataset)} rows ({skipped})")
    write_text_atomic(meta_path, json.dumps({"count": count, "size": size, **skipped}))
    logger.info("cached %d images (skipped %s) in %s", count, skipped, array_path)
    return np.load(array_path, mmap_mode="c")[:count]


def square_thumbnail(image: Image.Image, size: int) -> np.ndarray:
    """``size×size×3`` uint8: shorter side resized to ``size`` (antialiased), centre crop."""
    image = image.convert("RGB")
    width, height = image.size
    scale = size / min(width, height)
    resized = (max(size, round(width * scale)), max(size, round(height * scale)))
    image = image.resize(resized, Image.Resampling.BICUBIC, reducing_gap=3.0)
    left, top = (resized[0] - size) // 2, (resized[1] - size) // 2
    return np.asarray(image.crop((left, top, left + size, top + size)), dtype=np.uint8)


class CachedCrops:
    """Endless batches of random crops (and mirror flips) of a uint8 image cache.

    Batch ``n`` of process ``rank`` depends only on ``(seed, n, rank)``. Crops are cut and
    converted to float on ``device``, from the cache kept there when it fits.
    """

    def __init__(
        self,
        images: np.ndarray,
        crop_size: int,
        batch_size: int,
        *,
        seed: int = 0,
        device: torch.device | str = "cpu",
        keep_on_device: bool | None = None,
    ) -> None:
        count, size = images.shape[0], images.shape[1]
        if crop_size > size:
            raise ConfigurationError(
                f"data.image_size={crop_size} is larger than the cached size {size}; "
                "raise data.cache_size"
            )
        check_enough_images(count, batch_size)
        self.device = torch.device(device)
        self.crop_size, self.batch_size, self.seed = crop_size, batch_size, seed
        if keep_on_device is None:
            keep_on_device = _fits_on_device(images.nbytes, self.device)
        source = torch.from_numpy(np.ascontiguousarray(images) if keep_on_device else images)
        self.images = source.to(self.device) if keep_on_device else source
        self.count, self.size = count, size

    def __len__(self) -> int:
        return self.count

    def batch(self, number: int, rank: int = 0) -> torch.Tensor:
        """Batch ``number`` of process ``rank``: ``B×3×S×S`` float RGB in [0, 1]."""
        generator = torch.Generator().manual_seed(
            int(np.random.SeedSequence([self.seed, number, rank]).generate_state(1)[0])
        )
        batch, crop = self.batch_size, self.crop_size
        indices = torch.randint(self.count, (batch,), generator=generator)
        offsets = torch.randint(self.size - crop + 1, (batch, 2), generator=generator)
        mirror = torch.rand(batch, generator=generator) < 0.5
        crops = torch.stack(
            [
                self.images[int(i), int(y) : int(y) + crop, int(x) : int(x) + crop]
                for i, (y, x) in zip(indices, offsets, strict=True)
            ]
        ).to(self.device, non_blocking=True)
        rgb = rearrange(crops, "b h w c -> b c h w").float().div_(255.0)
        flip = mirror.to(self.device)[:, None, None, None]
        return torch.where(flip, rgb.flip(-1), rgb)

    def batches(self, start: int = 0, rank: int = 0) -> Iterator[torch.Tensor]:
        """Batches ``start, start + 1, …`` of process ``rank``, without end."""
        number = start
        while True:
            yield self.batch(number, rank)
            number += 1


def _fits_on_device(nbytes: int, device: torch.device) -> bool:
    if device.type != "cuda":
        return False
    free, _ = torch.cuda.mem_get_info(device)
    return nbytes <= DEVICE_MEMORY_SHARE * free
