"""Image datasets through Hugging Face ``datasets``: load, drop unusable images, split, crop."""

from __future__ import annotations

import io
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import datasets
import numpy as np
import torch
from einops import rearrange
from PIL import Image, ImageOps

from .errors import ConfigurationError, DataError, ImageReadError
from .images import GREY_MODES, HIGH_DEPTH_MODES, decode_image, readable_extensions

logger = logging.getLogger(__name__)

AnyDataset = datasets.Dataset | datasets.IterableDataset
_SAVED_TO_DISK_MARKERS = ("dataset_info.json", "state.json", "dataset_dict.json")
_SPLIT_FOLDERS = {
    "train",
    "training",
    "test",
    "testing",
    "validation",
    "valid",
    "val",
    "dev",
    "eval",
}


@dataclass
class DatasetReport:
    """What :func:`filter_images` kept and skipped (for streams: so far)."""

    kept: int = 0
    skipped_greyscale: int = 0
    skipped_unreadable: int = 0

    def count(self, status: Literal["kept", "greyscale", "unreadable"]) -> None:
        """Count one image."""
        if status == "kept":
            self.kept += 1
        elif status == "greyscale":
            self.skipped_greyscale += 1
        else:
            self.skipped_unreadable += 1


def load_image_dataset(
    source: str | Path,
    *,
    split: str = "train",
    streaming: bool = False,
    image_column: str = "image",
    cache_dir: str | Path | None = None,
) -> AnyDataset:
    """Load images from a folder, parquet, arrow, a ``save_to_disk`` folder or a Hub id.

    A local folder of images loads as ``imagefolder``; a ``.parquet`` file or a folder holding
    parquet files as ``parquet``; an ``.arrow`` file or ``save_to_disk`` folder directly;
    anything else is taken as a Hub dataset id. The image column is cast to
    ``datasets.Image(decode=False)`` so that corrupt files cannot break loading: decode with
    :func:`open_image`, drop unusable rows with :func:`filter_images`. ``cache_dir`` overrides
    the ``datasets`` cache (default: under ``HF_HOME``).
    """
    dataset = _load(source, split=split, streaming=streaming, cache_dir=cache_dir)
    return _undecoded(dataset, image_column, source)


def _undecoded(
    dataset: AnyDataset, image_column: str, source: object = "the dataset"
) -> AnyDataset:
    features = dataset.features
    if features is None:  # some streams only learn their columns when read
        return dataset
    if image_column not in features:
        raise ConfigurationError(
            f"{source} has no column {image_column!r} (columns: {', '.join(features)}); "
            "pass image_column= to name the column that holds the images"
        )
    return dataset.cast_column(image_column, datasets.Image(decode=False))


def _load(
    source: str | Path, *, split: str, streaming: bool, cache_dir: str | Path | None
) -> AnyDataset:
    path = Path(source).expanduser()
    options: dict[str, Any] = {"split": split, "streaming": streaming, "cache_dir": cache_dir}
    if path.is_dir():
        if any((path / marker).exists() for marker in _SAVED_TO_DISK_MARKERS):
            return _from_disk(path, split=split, streaming=streaming)
        parquet = sorted(str(p) for p in path.rglob("*.parquet"))
        if parquet:
            return datasets.load_dataset("parquet", data_files={split: parquet}, **options)
        if not _holds_images(path):
            raise DataError(
                f"{path}: no images in this folder or its sub-folders; give a folder of photos "
                "(or a .parquet/.arrow file, a save_to_disk folder, a Hub dataset id)"
            )
        # Splits come from train/, test/… sub-folders only, never from file names: left to
        # itself, imagefolder makes "bullet_train.jpg" a train split of one photo and drops
        # the rest. Metadata files (e.g. a licence table) are not labels: only images count.
        files = None if _has_split_folders(path) else {split: "**"}
        return datasets.load_dataset(
            "imagefolder", data_dir=str(path), data_files=files, drop_metadata=True, **options
        )
    if path.is_file():
        if path.suffix == ".parquet":
            return datasets.load_dataset("parquet", data_files={split: [str(path)]}, **options)
        if path.suffix == ".arrow":
            dataset = datasets.Dataset.from_file(str(path))
            return dataset.to_iterable_dataset() if streaming else dataset
        raise ConfigurationError(
            f"{path}: unsupported file type {path.suffix!r}; give an image folder, a .parquet "
            "or .arrow file, a folder saved with save_to_disk, or a Hub dataset id"
        )
    if isinstance(source, Path) or path.is_absolute() or str(source).startswith((".", "~")):
        raise ConfigurationError(f"{source}: no such file or folder")
    try:
        return datasets.load_dataset(str(source), **options)
    except (ConnectionError, FileNotFoundError) as error:  # DatasetNotFoundError too
        raise ConfigurationError(
            f"{source}: no such file or folder here, and not a dataset the Hub could provide "
            f"({type(error).__name__}); check the path, or the id and your connection"
        ) from None


def _holds_images(folder: Path) -> bool:
    """Whether ``folder`` or a sub-folder holds a file with an image extension."""
    readable = readable_extensions()
    return any(path.suffix.lower() in readable for path in folder.rglob("*") if path.is_file())


def _has_split_folders(path: Path) -> bool:
    """Whether ``path`` holds split sub-folders (``train/``, ``test/``, ``validation/``…)."""
    return any(child.is_dir() and child.name.lower() in _SPLIT_FOLDERS for child in path.iterdir())


def _from_disk(path: Path, *, split: str, streaming: bool) -> AnyDataset:
    dataset = datasets.load_from_disk(str(path))
    if isinstance(dataset, datasets.DatasetDict):
        if split not in dataset:
            raise ConfigurationError(
                f"{path} has no split {split!r} (splits: {', '.join(dataset)}); pass split="
            )
        dataset = dataset[split]
    return dataset.to_iterable_dataset() if streaming else dataset


def open_image(value: Any, name: str = "image") -> Image.Image:
    """Decode an image-column value, upright by its EXIF orientation, in its own mode.

    ``value`` is what a ``datasets.Image(decode=False)`` column holds (a dict with ``bytes``
    and/or ``path``), raw bytes, a path or a PIL image. Raises :class:`ImageReadError`
    (as :func:`~pyramidrefine.images.decode_image`, which it shares with ``read_image``).
    """
    if isinstance(value, Image.Image):
        return ImageOps.exif_transpose(value)
    if isinstance(value, dict):
        name = value.get("path") or name
        value = value.get("bytes") or value.get("path")
    if isinstance(value, bytes | bytearray):
        value = io.BytesIO(value)
    elif not isinstance(value, str | Path):
        raise ImageReadError(f"{name}: not an image value ({type(value).__name__})")
    return decode_image(value, str(name))


def is_greyscale(image: Image.Image) -> bool:
    """True for single-channel modes and for colour images with R == G == B everywhere."""
    if image.mode in GREY_MODES or image.mode in HIGH_DEPTH_MODES:
        return True
    rgb = np.asarray(image.convert("RGB"))
    return bool((rgb[..., 0] == rgb[..., 1]).all() and (rgb[..., 1] == rgb[..., 2]).all())


def filter_images(
    dataset: AnyDataset, *, image_column: str = "image"
) -> tuple[AnyDataset, DatasetReport]:
    """Drop rows whose image is unreadable (with a warning each) or greyscale; count them.

    A ``Dataset`` is checked now (every image decoded once) and the report is complete and
    logged; a ``DataError`` says so if nothing is left. An ``IterableDataset`` is filtered
    lazily: its report fills up as the stream is read (in the reading process only).
    """
    dataset = _undecoded(dataset, image_column)
    report = DatasetReport()

    def keep(row: dict[str, Any], index: int) -> bool:
        status = _status(row[image_column], index)
        report.count(status)
        return status == "kept"

    if isinstance(dataset, datasets.IterableDataset):
        return dataset.filter(keep, with_indices=True), report
    rows = dataset.select_columns([image_column])
    kept = [index for index, row in enumerate(rows) if keep(row, index)]
    logger.info(
        "kept %d images, skipped %d greyscale and %d unreadable",
        report.kept,
        report.skipped_greyscale,
        report.skipped_unreadable,
    )
    if not kept:
        raise DataError(
            f"no usable colour images in a dataset of {len(dataset)} rows "
            f"({report.skipped_greyscale} greyscale, {report.skipped_unreadable} unreadable); "
            "check the source and image_column"
        )
    return dataset.select(kept), report


def _status(value: Any, index: int) -> Literal["kept", "greyscale", "unreadable"]:
    try:
        image = open_image(value, name=f"row {index}")
    except ImageReadError as error:
        logger.warning("skipping row %d: %s", index, error)
        return "unreadable"
    return "greyscale" if is_greyscale(image) else "kept"


def split_dataset(
    dataset: datasets.Dataset, val_fraction: float, seed: int
) -> tuple[datasets.Dataset, datasets.Dataset]:
    """Random ``(train, val)`` split; the same seed gives the same split."""
    if isinstance(dataset, datasets.IterableDataset):
        raise ConfigurationError(
            "a streamed dataset cannot be split by fraction; load its own validation split "
            "(split='validation'), use .take(n)/.skip(n), or load it without streaming"
        )
    if not 0 < val_fraction < 1:
        raise ConfigurationError(f"val_fraction must lie strictly in (0, 1), got {val_fraction}")
    size = len(dataset)
    val_size = round(size * val_fraction)
    if not 0 < val_size < size:
        raise ConfigurationError(
            f"val_fraction={val_fraction} of {size} rows leaves an empty train or val part; "
            "change val_fraction or use more data"
        )
    order = torch.randperm(size, generator=torch.Generator().manual_seed(seed)).tolist()
    return dataset.select(sorted(order[val_size:])), dataset.select(sorted(order[:val_size]))


def crop_image(
    image: Image.Image,
    crop_size: int,
    *,
    train: bool = True,
    scale: tuple[float, float] = (0.5, 1.0),
    flip: bool = True,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """RGB ``3×S×S`` float tensor in [0, 1] from a PIL image.

    Images whose shorter side is below ``S`` are upscaled to ``S`` first. ``train``: a
    square of side ``u·shorter side`` (``u`` uniform in ``scale``) at a random place, resized
    to ``S``, mirrored with probability ½. Otherwise: the central square, resized to ``S``.
    """
    image = image.convert("RGB")
    width, height = image.size
    if min(width, height) < crop_size:
        factor = crop_size / min(width, height)
        size = (max(crop_size, round(width * factor)), max(crop_size, round(height * factor)))
        image = image.resize(size, Image.Resampling.BICUBIC)
        width, height = image.size
    short = min(width, height)
    mirror = False
    if train:
        fraction = scale[0] + (scale[1] - scale[0]) * _uniform(generator)
        side = max(1, round(fraction * short))
        left = int(torch.randint(width - side + 1, (), generator=generator))
        top = int(torch.randint(height - side + 1, (), generator=generator))
        mirror = flip and _uniform(generator) < 0.5
    else:
        side, left, top = short, (width - short) // 2, (height - short) // 2
    box = (left, top, left + side, top + side)
    crop = image.resize((crop_size, crop_size), Image.Resampling.BICUBIC, box=box)
    if mirror:
        crop = ImageOps.mirror(crop)
    array = np.array(crop, dtype=np.float32) / 255.0
    return rearrange(torch.from_numpy(array), "h w c -> c h w").contiguous()


def _uniform(generator: torch.Generator | None) -> float:
    return float(torch.rand((), generator=generator))


class ImageCropDataset(torch.utils.data.Dataset):
    """Torch dataset of RGB crops ``3×S×S`` in [0, 1], decoded and augmented on the fly.

    A thin wrapper rather than ``Dataset.set_transform``: a transform sees batches without
    their indices, so it could only draw from a shared random state, and the crops would
    change with the number of DataLoader workers and the order they run in. Here every item
    draws from its own generator, seeded by ``(seed, epoch, index)``: the same seed gives
    the same crops in any DataLoader; call :meth:`set_epoch` for fresh crops each epoch.
    ``train=False`` gives deterministic center crops for validation.
    """

    def __init__(
        self,
        dataset: datasets.Dataset,
        crop_size: int,
        *,
        train: bool = True,
        scale: Sequence[float] = (0.5, 1.0),
        flip: bool = True,
        seed: int = 0,
        image_column: str = "image",
    ) -> None:
        if isinstance(dataset, datasets.IterableDataset):
            raise ConfigurationError(
                "ImageCropDataset needs a map-style Dataset; for a stream, map crop_image "
                "over open_image(row[image_column]) with IterableDataset.map"
            )
        if crop_size < 1:
            raise ConfigurationError(f"crop_size must be positive, got {crop_size}")
        low, high = scale
        if not 0 < low <= high <= 1:
            raise ConfigurationError(f"scale must satisfy 0 < low <= high <= 1, got {scale}")
        self.dataset = _undecoded(dataset, image_column).select_columns([image_column])
        self.crop_size, self.train, self.scale, self.flip = crop_size, train, (low, high), flip
        self.seed, self.epoch, self.image_column = seed, 0, image_column

    def set_epoch(self, epoch: int) -> None:
        """Draw different (still reproducible) crops in epoch ``epoch``."""
        self.epoch = epoch

    def __len__(self) -> int:
        return len(self.dataset)

    def __getitem__(self, index: int) -> torch.Tensor:
        image = open_image(self.dataset[index][self.image_column], name=f"row {index}")
        state = np.random.SeedSequence([self.seed, self.epoch, index]).generate_state(1)[0]
        generator = torch.Generator().manual_seed(int(state))
        return crop_image(
            image,
            self.crop_size,
            train=self.train,
            scale=self.scale,
            flip=self.flip,
            generator=generator,
        )
