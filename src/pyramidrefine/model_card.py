"""The README.md model card that ``save_pretrained`` writes next to a model's files.

The card travels with the model, so it holds nothing of the machine that wrote it: a local
folder appears by its name alone, a Hub repository by its id, and it links nowhere.
"""

from __future__ import annotations

import json
import re
from pathlib import PurePath
from typing import Any

from torch import nn

PLACEHOLDER = "FOLDER_OR_HUB_ID"
_HUB_ID = re.compile(r"[\w.-]+/[\w.-]+")
_WHAT_CHANNELS = {
    (1, 2): "1 input channel to 2 output channels (colorization: L → ab in Lab space)",
    (3, 3): "RGB to RGB (3 channels in and out, as in denoising)",
}


def model_card_text(model: nn.Module, config: dict[str, Any], location: str | None) -> str:
    """Markdown of the card: what the model is, its configuration and how to load it.

    ``location``: where the model is saved or pushed; see :func:`portable_name`.
    """
    source = portable_name(location)
    in_channels, out_channels = config.get("in_channels"), config.get("out_channels")
    channels = _WHAT_CHANNELS.get(
        (in_channels, out_channels),
        f"{in_channels} input channel(s) to {out_channels} output channel(s)",
    )
    parameters = sum(p.numel() for p in model.parameters())
    dtypes = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()})
    lines = [
        "---",
        "library_name: pyramidrefine",
        "tags:",
        "- image-to-image",
        "- pyramidrefine",
        "---",
        "",
        f"# {type(model).__name__} ({config.get('generator', 'custom')} generator)",
        "",
        f"An image-to-image model for the `pyramidrefine` Python package, mapping {channels}.",
        f"{_pyramid_sentence(config)} It has {parameters:,} parameters, stored in "
        f"{' and '.join(dtypes)} as `model.safetensors` (no pickle); `config.json` holds the "
        "constructor arguments that rebuild the architecture. A `training.yaml` beside them, "
        "if present, is the configuration the model was trained with (task, data, steps).",
        "",
        "## Configuration",
        "",
        "| key | value |",
        "|---|---|",
        *(f"| `{key}` | `{json.dumps(value)}` |" for key, value in sorted(config.items())),
        "",
        "## Load and run",
        "",
        "```python",
        "import torch",
        "import pyramidrefine as pr",
        "",
        f'model = pr.CoarseToFine.from_pretrained("{source}")  # in eval mode',
        "with torch.no_grad():",
        f"    y = model(x)  # x: B×{in_channels}×H×W, normalised by its task, any H and W",
        "```",
    ]
    if (in_channels, out_channels) == (1, 2):
        lines += [
            "",
            "Colour photos with it:",
            "",
            "```bash",
            f"pyramidrefine colorize photos/ --out coloured/ --model {source}",
            "```",
        ]
    return "\n".join(lines) + "\n"


def portable_name(location: str | None) -> str:
    """How the card names the model: a Hub id as it is, a local folder by its name only
    (load it from the folder that holds it), :data:`PLACEHOLDER` when unknown."""
    if not location:
        return PLACEHOLDER
    text = str(location).replace("\\", "/").rstrip("/")
    if _HUB_ID.fullmatch(text) and not text.startswith("."):
        return text
    return PurePath(text).name or PLACEHOLDER


def _pyramid_sentence(config: dict[str, Any]) -> str:
    if config.get("levels") is not None:
        levels = config["levels"]
        shape = f"{levels} pyramid level{'s' if levels != 1 else ''}"
    else:
        shape = (
            f"a pyramid whose coarsest level has a long side of {config.get('base_size')} px "
            "and as many levels, each twice the size of the previous, as the input needs"
        )
    sentence = (
        f"It runs its generator coarse to fine over {shape}: each level sees the input at its "
        "scale plus the upsampled prediction of the coarser level."
    )
    if config.get("tile"):
        sentence += (
            f" Levels larger than {config['tile']} px run tile by tile "
            f"(overlap {config.get('overlap')} px)."
        )
    return sentence
