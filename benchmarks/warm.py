"""Imported by ``run.py`` before it forks measurements: what they would import lazily.

The first FLOP count imports ``torch._dynamo`` and the first SSIM/PSNR torchmetrics and
torchvision; loaded here once, no forked measurement spends seconds importing them.
"""


def load() -> None:
    """Import the lazily loaded modules."""
    import torch._dynamo  # noqa: F401
    from torchmetrics.functional import image  # noqa: F401


load()
