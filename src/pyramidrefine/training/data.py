"""Training and validation data for the trainer: resumable, reproducible, sharded batches.

Every training sample is identified by its position in an endless stream of epochs; its
crop is drawn from a generator seeded by ``(seed, epoch, index)``. Resuming after ``n``
batches therefore continues with exactly the batches an uninterrupted run would have seen.
With ``data.cache_size`` the images are decoded once into a uint8 cache and batches are
cut on the device (:mod:`.cache`), seeded by batch number, with the same exact resume.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import datasets
import numpy as np
import torch
from datasets.distributed import split_dataset_by_node
from torch.utils.data import DataLoader, Dataset, IterableDataset, Sampler

from ..data import (
    ImageCropDataset,
    crop_image,
    filter_images,
    load_image_dataset,
    open_image,
    split_dataset,
)
from ..tiling import resize
from .cache import CachedCrops, build_image_cache, cache_key
from .checks import check_enough_images
from .config import TrainConfig

TrainingSamples = Dataset | IterableDataset | CachedCrops


def build_datasets(
    config: TrainConfig, device: torch.device | str = "cpu"
) -> tuple[TrainingSamples, list[torch.Tensor]]:
    """Training samples and the validation images (``1×3×H×W`` tensors, long side capped),
    for a config that passed :func:`~pyramidrefine.training.checks.check_config`."""
    data = config.data
    sources = [data.train] if isinstance(data.train, str) else list(data.train)
    loaded = [load_image_dataset(s, streaming=data.streaming) for s in sources]
    loaded = [d.select_columns(["image"]) for d in loaded]
    train = datasets.concatenate_datasets(loaded) if len(loaded) > 1 else loaded[0]
    if data.cache_size is None:  # the cache skips unusable images itself, in one decode
        train, _ = filter_images(train)
    if data.val:
        val_images = validation_images(
            data.val, max_images=data.val_max_images, max_side=data.val_max_side
        )
    elif data.streaming or not data.val_fraction:
        val_images = []
    else:
        if data.cache_size is not None:
            train, _ = filter_images(train)
        train, val = split_dataset(train, data.val_fraction, config.seed)
        val_images = _tensors(val, data.val_max_images, data.val_max_side)
    if data.streaming:
        return _StreamCrops(train, data.image_size, config.seed), val_images
    # Counted before a cache or a run folder is written (the cache may skip more rows).
    check_enough_images(len(train), data.batch_size)
    if data.cache_size is not None:
        folder = data.cache_dir or Path(config.output_dir) / "image-cache"
        key = cache_key(sources, data.cache_size, len(train))
        images = build_image_cache(train, data.cache_size, folder, key)
        cached = CachedCrops(
            images, data.image_size, data.batch_size, seed=config.seed, device=device
        )
        return cached, val_images
    crops = ImageCropDataset(train, data.image_size, seed=config.seed)
    return _EpochIndexed(crops), val_images


def validation_images(
    source: str, *, max_images: int | None = None, max_side: int | None = None
) -> list[torch.Tensor]:
    """Colour images of ``source`` (unusable ones skipped) in a fixed order, scaled down to
    a long side of at most ``max_side`` (``None``: full size)."""
    dataset, _ = filter_images(load_image_dataset(source))
    return _tensors(dataset, max_images, max_side)


def _tensors(
    dataset: datasets.Dataset, max_images: int | None, max_side: int | None = None
) -> list[torch.Tensor]:
    count = len(dataset) if max_images is None else min(max_images, len(dataset))
    images = []
    for index in range(count):
        image = np.asarray(open_image(dataset[index]["image"]).convert("RGB"), np.float32)
        tensor = torch.from_numpy(image / 255.0).permute(2, 0, 1)[None].contiguous()
        images.append(_capped(tensor, max_side))
    return images


def _capped(image: torch.Tensor, max_side: int | None) -> torch.Tensor:
    height, width = image.shape[-2:]
    if max_side is None or max(height, width) <= max_side:
        return image
    scale = max_side / max(height, width)
    size = (max(1, round(height * scale)), max(1, round(width * scale)))
    return resize(image, size).clamp_(0.0, 1.0)


def training_loader(
    samples: TrainingSamples,
    config: TrainConfig,
    *,
    start_batch: int = 0,
    process_index: int = 0,
    num_processes: int = 1,
) -> DataLoader | Iterator[torch.Tensor]:
    """Endless batches for one process, beginning after ``start_batch`` of its batches."""
    if isinstance(samples, CachedCrops):
        return samples.batches(start_batch, process_index)
    batch_size = config.data.batch_size
    if isinstance(samples, IterableDataset):
        samples.start(start_batch * batch_size, process_index, num_processes)
        return DataLoader(samples, batch_size=batch_size, num_workers=0)
    sampler = _EndlessSampler(
        len(samples.crops), batch_size, config.seed, start_batch, process_index, num_processes
    )
    return DataLoader(
        samples,
        batch_size=batch_size,
        sampler=sampler,
        num_workers=config.data.num_workers,
        drop_last=True,
    )


class _EpochIndexed(Dataset):
    """Items keyed ``epoch * len + index``, so crops differ per epoch yet are reproducible."""

    def __init__(self, crops: ImageCropDataset) -> None:
        self.crops = crops

    def __len__(self) -> int:
        return len(self.crops)

    def __getitem__(self, key: int) -> torch.Tensor:
        epoch, index = divmod(key, len(self.crops))
        self.crops.set_epoch(epoch)
        return self.crops[index]


class _EndlessSampler(Sampler[int]):
    """Shuffled epochs without end; this process's share of every ``num_processes`` batches."""

    def __init__(
        self,
        size: int,
        batch_size: int,
        seed: int,
        start_batch: int,
        process_index: int,
        num_processes: int,
    ) -> None:
        check_enough_images(size, batch_size)
        self.size, self.batch_size, self.seed = size, batch_size, seed
        self.start_batch, self.rank, self.world = start_batch, process_index, num_processes

    def _global_stream(self) -> Iterator[int]:
        for epoch in itertools.count():
            order = torch.randperm(
                self.size, generator=torch.Generator().manual_seed(self.seed * 7919 + epoch)
            )
            per_epoch = self.size // self.batch_size * self.batch_size  # whole batches only
            yield from (epoch * self.size + int(i) for i in order[:per_epoch])

    def __iter__(self) -> Iterator[int]:
        stream = self._global_stream()
        batches = zip(*[stream] * self.batch_size, strict=False)  # consecutive groups
        mine = itertools.islice(batches, self.rank, None, self.world)
        for batch in itertools.islice(mine, self.start_batch, None):
            yield from batch


class _StreamCrops(IterableDataset):
    """Crops from a streamed dataset, seeded by stream position; skips on resume."""

    def __init__(self, stream: datasets.IterableDataset, size: int, seed: int) -> None:
        self.stream, self.size, self.seed = stream, size, seed
        self.skip, self.rank, self.world = 0, 0, 1

    def start(self, skip: int, rank: int, world: int) -> None:
        self.skip, self.rank, self.world = skip, rank, world

    def __iter__(self) -> Iterator[torch.Tensor]:
        for epoch in itertools.count():
            shard = split_dataset_by_node(
                self.stream.shuffle(seed=self.seed + epoch),
                rank=self.rank,
                world_size=self.world,
            )
            for position, row in enumerate(shard):
                if self.skip:
                    self.skip -= 1
                    continue
                generator = torch.Generator().manual_seed(
                    int(np.random.SeedSequence([self.seed, epoch, position]).generate_state(1)[0])
                )
                yield crop_image(open_image(row["image"]), self.size, generator=generator)
