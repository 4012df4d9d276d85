"""CIE Lab ↔ sRGB in NumPy, as kornia computes them (D65, 2°), and the gamut fit at fixed L.

For running a colorizer without torch (:class:`~pyramidrefine.onnx_colorizer.OnnxColorizer`):
images are ``H×W×3`` float arrays (channels last, as NumPy and PIL hold them); the
arithmetic is kornia's ``rgb_to_lab`` / ``lab_to_rgb`` and the colorization task's
``fit_into_gamut``, which the tests compare against.
"""

from __future__ import annotations

import numpy as np

L_SCALE = 50.0  # normalised L = L / L_SCALE - 1, in [-1, 1]
AB_SCALE = 110.0  # normalised ab = ab / AB_SCALE, in about [-1, 1]
GAMUT_TOLERANCE = 1e-6
BISECTION_STEPS = 16

_WHITE = np.array([0.95047, 1.0, 1.08883], np.float32)  # D65
_RGB_TO_XYZ = np.array(
    [
        [0.412453, 0.357580, 0.180423],
        [0.212671, 0.715160, 0.072169],
        [0.019334, 0.119193, 0.950227],
    ],
    np.float32,
)
_XYZ_TO_RGB = np.array(
    [
        [3.2404813432005266, -1.5371515162713185, -0.4985363261688878],
        [-0.9692549499965682, 1.8759900014898907, 0.0415559265582928],
        [0.0556466391351772, -0.2040413383665112, 1.0573110696453443],
    ],
    np.float32,
)


def rgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """Lab (L in [0, 100]) of ``…×3`` sRGB in [0, 1]."""
    rgb = np.asarray(rgb, np.float32)
    linear = np.where(rgb > 0.04045, (np.clip(rgb + 0.055, 0.0, None) / 1.055) ** 2.4, rgb / 12.92)
    xyz = (linear @ _RGB_TO_XYZ.T) / _WHITE
    threshold = 0.008856
    f = np.where(xyz > threshold, np.cbrt(np.maximum(xyz, threshold)), 7.787 * xyz + 4 / 29)
    x, y, z = f[..., 0], f[..., 1], f[..., 2]
    return np.stack([116.0 * y - 16.0, 500.0 * (x - y), 200.0 * (y - z)], axis=-1)


def lab_to_rgb(lab: np.ndarray, *, clip: bool = True) -> np.ndarray:
    """sRGB of ``…×3`` Lab; in [0, 1] when ``clip`` (else outside where out of gamut)."""
    lab = np.asarray(lab, np.float32)
    fy = (lab[..., 0] + 16.0) / 116.0
    fx = lab[..., 1] / 500.0 + fy
    fz = np.maximum(fy - lab[..., 2] / 200.0, 0.0)
    f = np.stack([fx, fy, fz], axis=-1)
    xyz = np.where(f > 0.2068966, f**3, (f - 4 / 29) / 7.787) * _WHITE
    linear = xyz @ _XYZ_TO_RGB.T
    threshold = 0.0031308
    rgb = np.where(
        linear > threshold,
        1.055 * np.maximum(linear, threshold) ** (1 / 2.4) - 0.055,
        12.92 * linear,
    )
    return np.clip(rgb, 0.0, 1.0) if clip else rgb


def fit_into_gamut(lab: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] of ``…×3`` Lab, out-of-gamut pixels' ab scaled down (bisection) at
    fixed L, as ``pyramidrefine.tasks.colorization.fit_into_gamut``."""
    rgb = lab_to_rgb(lab, clip=False)
    outside = ~in_gamut(rgb)
    if outside.any():
        pixels = lab[outside]
        low = np.zeros((len(pixels), 1), np.float32)  # a chroma scale known to be inside
        high = np.ones_like(low)
        for _ in range(BISECTION_STEPS):
            middle = (low + high) / 2
            inside = in_gamut(lab_to_rgb(_scale_chroma(pixels, middle), clip=False))[:, None]
            low = np.where(inside, middle, low)
            high = np.where(inside, high, middle)
        rgb[outside] = lab_to_rgb(_scale_chroma(pixels, low), clip=False)
    return np.clip(rgb, 0.0, 1.0)


def in_gamut(rgb: np.ndarray) -> np.ndarray:
    """Whether each pixel of ``…×3`` sRGB lies in [0, 1] (within :data:`GAMUT_TOLERANCE`)."""
    return ((rgb >= -GAMUT_TOLERANCE) & (rgb <= 1 + GAMUT_TOLERANCE)).all(axis=-1)


def _scale_chroma(pixels: np.ndarray, scale: np.ndarray) -> np.ndarray:
    return np.concatenate([pixels[:, :1], pixels[:, 1:] * scale], axis=1)
