"""What a task is: how photos become (input, target) tensors and outputs become photos.

The trainer, the evaluation and the sample grids only talk to a task through this
interface, so a new image-to-image task is one class registered with ``@register_task``.
"""

from __future__ import annotations

import torch


class Task:
    """Base class of tasks: subclass it, set the class attributes, implement the methods.

    Attributes:
        in_channels: channels of the model's input.
        out_channels: channels of the model's output (and of the target).
        target_name: names the L1 metric on targets, ``l1_<target_name>``.
        reference_name: names the trivial reference output; its metrics are reported
            as ``<metric>_<reference_name>``, the numbers a model has to beat.
        pixelwise: whether :meth:`inputs` and :meth:`render` treat each pixel on its own
            (then large photos are converted in bands of rows, within a memory budget).
    """

    in_channels: int
    out_channels: int
    target_name: str = "target"
    reference_name: str = "reference"
    pixelwise: bool = False

    def prepare(
        self, rgb: torch.Tensor, generator: torch.Generator | None = None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """``(inputs, targets)`` from ``B×3×H×W`` RGB in [0, 1].

        Random degradations draw from ``generator`` only (CPU), so that training stays
        exactly reproducible and resumable.
        """
        raise NotImplementedError

    def inputs(self, rgb: torch.Tensor) -> torch.Tensor:
        """The model's input for a photo to process, ``B×3×H×W`` RGB in [0, 1], as it is
        (no degradation): what :class:`~pyramidrefine.inference.Pipeline` feeds the model.
        Tasks without it can be trained and evaluated, not applied to photos."""
        raise NotImplementedError

    def render(self, inputs: torch.Tensor, outputs: torch.Tensor) -> torch.Tensor:
        """``B×3×H×W`` RGB in [0, 1] from the model's inputs and (predicted) outputs."""
        raise NotImplementedError

    def reference(self, inputs: torch.Tensor) -> torch.Tensor:
        """The trivial output every model has to beat (e.g. grey, or the noisy input)."""
        raise NotImplementedError

    def extra_scores(
        self,
        rgb: torch.Tensor,
        truth_rgb: torch.Tensor,
        outputs: torch.Tensor,
        targets: torch.Tensor,
    ) -> dict[str, float]:
        """Task-specific scores of one image: its rendered ``1×3×H×W`` prediction, the
        photo, the model's outputs and the targets (none by default)."""
        return {}

    def summarize(self, means: dict[str, float]) -> dict[str, float]:
        """Dataset-level metrics from the per-image means (e.g. ratios); unchanged here."""
        return means
