"""Edges of the library: read image files and move between PIL, NumPy and tensors."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np
import torch
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import ImageReadError, InvalidInputError

ImageLike = Image.Image | np.ndarray | torch.Tensor | str | os.PathLike


DEFAULT_MAX_PIXELS = 1 << 28  # 268 M pixels, e.g. 16384×16384
GREY_MODES = ("1", "L", "LA", "La")  # Pillow modes shown as 8-bit L
HIGH_DEPTH_MODES = ("I", "I;16", "I;16B", "I;16L", "I;16N", "F")  # one channel, > 8 bits
READ_ERRORS = (
    UnidentifiedImageError,
    OSError,
    SyntaxError,
    ValueError,
    EOFError,
    Image.DecompressionBombError,
)


def read_image(
    path: str | os.PathLike, *, max_pixels: int | None = DEFAULT_MAX_PIXELS
) -> Image.Image:
    """Open an image file as 8-bit RGB or L, upright according to its EXIF orientation.

    16-bit and float images are rescaled, CMYK/palette/alpha images become RGB (alpha
    dropped), animated images give their first frame. Images over ``max_pixels`` are
    refused before they are decoded (``None``: no limit).
    """
    path = Path(path)
    if not path.exists():
        if path.is_symlink():
            raise ImageReadError(f"{path}: a symbolic link to nothing (broken, or a loop)")
        raise ImageReadError(f"{path}: no such file")
    if not path.is_file():
        raise ImageReadError(f"{path}: not a file")
    image = decode_image(path, str(path), max_pixels=max_pixels)
    try:
        return normalise_mode(image)
    except InvalidInputError as error:
        raise ImageReadError(f"{path}: {error}") from None


def decode_image(
    source: str | os.PathLike | IO[bytes],
    name: str,
    *,
    max_pixels: int | None = DEFAULT_MAX_PIXELS,
) -> Image.Image:
    """Decode a file (a path or a binary file object) in its own mode, its first frame,
    upright by its EXIF orientation; over ``max_pixels`` it is refused before it is
    decoded. Problems are one :class:`ImageReadError` that starts with ``name``."""
    try:
        with _pillow_limit_off(), Image.open(source) as image:
            if max_pixels is not None and image.width * image.height > max_pixels:
                raise ImageReadError(
                    f"{name}: {image.width}×{image.height} pixels is over the limit of "
                    f"{max_pixels} (a decompression bomb?); raise max_pixels if you trust it"
                )
            image.seek(0)
            image.load()
            return ImageOps.exif_transpose(image)
    except ImageReadError:
        raise
    except READ_ERRORS as error:
        raise ImageReadError(f"{name}: not a readable image ({error})") from None


def readable_extensions() -> set[str]:
    """File extensions (lower case, with the dot) of the formats Pillow can open."""
    return {ext for ext, name in Image.registered_extensions().items() if name in Image.OPEN}


def normalise_mode(image: Image.Image) -> Image.Image:
    """8-bit ``L`` for grey images, 8-bit ``RGB`` for everything else.

    16-bit and float images are scaled by their finite peak (NaN pixels become black,
    infinite ones black or white); one without a finite pixel is an :class:`InvalidInputError`.
    """
    if image.mode in ("L", "RGB"):
        return image
    if image.mode in GREY_MODES:
        return image.convert("L")
    if image.mode in HIGH_DEPTH_MODES:
        values = np.asarray(image, dtype=np.float64)
        finite = np.isfinite(values)
        if values.size and not finite.any():
            raise InvalidInputError(
                "no pixel has a finite value (all NaN or infinite); nothing to show"
            )
        peak = 1.0 if image.mode == "F" else 65535.0
        peak = max(peak, float(values[finite].max()) if values.size else peak)
        scaled = np.nan_to_num(values / peak, nan=0.0, posinf=1.0, neginf=0.0).clip(0.0, 1.0)
        return Image.fromarray(np.round(scaled * 255).astype(np.uint8))
    if image.mode in ("RGBa", "PA") or (image.mode == "P" and "transparency" in image.info):
        image = image.convert("RGBA")  # transparency becomes alpha, dropped below
    return image.convert("RGB")


class _pillow_limit_off:
    """Pillow's own bomb check raises before our clearer one; lift it while we open."""

    def __enter__(self) -> None:
        self.saved, Image.MAX_IMAGE_PIXELS = Image.MAX_IMAGE_PIXELS, None

    def __exit__(self, *exc: object) -> None:
        Image.MAX_IMAGE_PIXELS = self.saved


@dataclass(frozen=True)
class ImageKind:
    """How an image came in, so that a result can go back out the same way."""

    kind: str  # "pil", "numpy" or "tensor"
    dtype: Any = None
    batched: bool = False


def to_tensor(image: ImageLike, *, keep_uint8: bool = False) -> tuple[torch.Tensor, ImageKind]:
    """``B×C×H×W`` float tensor in [0, 1] (C = 1 or 3) and the kind to convert back to.

    Accepts PIL images, paths (read as PIL), NumPy arrays ``H×W``, ``H×W×1`` or ``H×W×3``
    (uint8, or float in [0, 1]) and tensors ``C×H×W`` or ``B×C×H×W`` (float in [0, 1]).
    ``keep_uint8``: 8-bit pictures (PIL, uint8 arrays) come as uint8 (0..255), a quarter
    of the memory, for :func:`unit_float` to convert piece by piece.
    """
    if isinstance(image, str | os.PathLike):
        image = read_image(image)
    if isinstance(image, Image.Image):
        pixels = _uint8_tensor(np.array(normalise_mode(image)))  # writable: no second copy
        return (pixels if keep_uint8 else unit_float(pixels)), ImageKind("pil")
    if isinstance(image, np.ndarray):
        if image.dtype == np.uint8:
            pixels = _uint8_tensor(image)
            return (pixels if keep_uint8 else unit_float(pixels)), ImageKind("numpy", image.dtype)
        if np.issubdtype(image.dtype, np.floating):
            return _hwc_to_tensor(image.astype(np.float32)), ImageKind("numpy", image.dtype)
        raise InvalidInputError(f"NumPy images must be uint8 or float, got {image.dtype}")
    if isinstance(image, torch.Tensor):
        batched = image.ndim == 4
        tensor = image if batched else image.unsqueeze(0)
        if tensor.ndim != 4 or tensor.shape[1] not in (1, 3) or not tensor.is_floating_point():
            raise InvalidInputError(
                "tensors must be float C×H×W or B×C×H×W with C = 1 or 3, got "
                f"{tuple(image.shape)} {image.dtype}"
            )
        return _check_values(tensor.float()), ImageKind("tensor", image.dtype, batched)
    raise InvalidInputError(
        f"expected a PIL image, NumPy array, tensor or path, got {type(image).__name__}"
    )


def from_tensor(rgb: torch.Tensor, kind: ImageKind) -> Image.Image | np.ndarray | torch.Tensor:
    """Convert a ``B×3×H×W`` result in [0, 1] back to the kind an input came in as."""
    if kind.kind == "tensor":
        rgb = rgb.to(kind.dtype)
        return rgb if kind.batched else rgb[0]
    if kind.kind == "numpy" and kind.dtype != np.uint8:
        return rgb[0].permute(1, 2, 0).cpu().numpy().astype(kind.dtype)
    pixels = rgb[0].cpu() if rgb.dtype == torch.uint8 else quantise(rgb[0].cpu())
    array = pixels.permute(1, 2, 0).contiguous().numpy()
    return array if kind.kind == "numpy" else Image.fromarray(array)


def unit_float(pixels: torch.Tensor) -> torch.Tensor:
    """A uint8 tensor (0..255) as float32 in [0, 1]; float tensors pass unchanged."""
    return pixels.float().div_(255.0) if pixels.dtype == torch.uint8 else pixels


def quantise(rgb: torch.Tensor) -> torch.Tensor:
    """Float RGB in [0, 1] as uint8 (0..255, rounded): what an 8-bit picture holds."""
    return rgb.mul(255.0).round_().to(torch.uint8)  # one float copy, not three


def _check_shape(array: np.ndarray) -> np.ndarray:
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[2] not in (1, 3):
        raise InvalidInputError(f"arrays must be H×W, H×W×1 or H×W×3, got shape {array.shape}")
    if min(array.shape[:2]) < 1:
        raise InvalidInputError(f"empty image of shape {tuple(array.shape)}")
    return array


def _uint8_tensor(array: np.ndarray) -> torch.Tensor:
    """``1×C×H×W`` uint8 of an 8-bit ``H×W[×C]`` array (always in range: no value check)."""
    array = _check_shape(array)
    pixels = torch.from_numpy(array if array.flags.writeable else array.copy())
    return pixels.permute(2, 0, 1)[None].contiguous()


def _hwc_to_tensor(array: np.ndarray) -> torch.Tensor:
    array = np.ascontiguousarray(_check_shape(array))
    return _check_values(torch.from_numpy(array).permute(2, 0, 1)[None])


def _check_values(tensor: torch.Tensor) -> torch.Tensor:
    if min(tensor.shape[-2:]) < 1:
        raise InvalidInputError(f"empty image of shape {tuple(tensor.shape)}")
    if not torch.isfinite(tensor).all():
        raise InvalidInputError("the image contains NaN or infinite values")
    if tensor.min() < 0 or tensor.max() > 1:
        raise InvalidInputError(
            f"float images must lie in [0, 1], got [{tensor.min():.3g}, {tensor.max():.3g}]"
        )
    return tensor
