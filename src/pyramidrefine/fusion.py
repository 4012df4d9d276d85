"""Fold BatchNorm into the convolution before it, for inference, in any generator.

At inference a BatchNorm with running statistics is an affine map per channel; when it
only ever normalises one convolution's output, it can be folded into that convolution's
weights and bias (:func:`torch.nn.utils.fusion.fuse_conv_bn_eval`) and removed. Which
BatchNorm follows which convolution is found by running the module once on an example
and watching the tensors (no symbolic tracing, so any ``forward`` works, and subclasses
count: timm's ``BatchNormAct2d`` becomes its dropout and activation). A convolution whose
output is also used by anything else is left alone. The folded module is then checked
against the original on the example, and everything is undone if they differ: folding
never changes results beyond float rounding.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import nn
from torch.nn.utils import parametrize
from torch.nn.utils.fusion import fuse_conv_bn_eval
from torch.overrides import TorchFunctionMode
from torch.utils._pytree import tree_leaves

if TYPE_CHECKING:
    from .pyramid import CoarseToFine

CONVOLUTIONS = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
TRANSPOSED_CONVOLUTIONS = (nn.ConvTranspose1d, nn.ConvTranspose2d, nn.ConvTranspose3d)
BATCH_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.BatchNorm3d)
# Folded and original outputs may differ by float rounding: at most this times max(1, |y|).
TOLERANCE = 1e-4
# Tensor functions that read a tensor's metadata only: not a use of its values.
_METADATA = {"__get__", "size", "dim", "numel", "stride", "is_contiguous", "is_floating_point"}


@dataclass(frozen=True)
class FoldReport:
    """What :func:`fold_batchnorm` did: pairs folded, pairs found (some may not be folded:
    a convolution whose weights a parametrization computes), and whether it undid them.

    ``difference`` is the largest absolute difference of the outputs on the example.
    """

    folded: int
    found: int
    difference: float = 0.0
    reverted: bool = False


def fold_batchnorm(
    module: nn.Module, example: torch.Tensor, *, tolerance: float = TOLERANCE
) -> FoldReport:
    """Fold, in place, each BatchNorm that only normalises a convolution's output into it.

    ``module`` is put in eval mode and run on ``example`` (with its running statistics,
    nothing learns). BatchNorms are folded when, in that run, their input was exactly a
    convolution's output that nothing else used; they are replaced by ``nn.Identity``
    (timm's ``BatchNormAct2d`` by its dropout and activation). If the folded module's
    output on ``example`` differs from the original's by more than ``tolerance`` times
    ``max(1, max |output|)``, every change is undone (``reverted``). Call it on a copy
    (``copy.deepcopy``) to keep the original, e.g. for training.
    """
    module.eval()
    with torch.no_grad():  # not inference_mode: its tensors keep no version counter
        pairs, reference = _find_pairs(module, example)
        if not pairs:
            return FoldReport(0, 0)
        undo = [restore for conv, norm in pairs if (restore := _fold(module, conv, norm))]
        output = module(example)
    difference = _max_difference(reference, output)
    scale = max(1.0, max((float(t.abs().max()) for t in _tensors(reference)), default=1.0))
    if difference <= tolerance * scale:
        return FoldReport(len(undo), len(pairs), difference)
    for restore in reversed(undo):
        restore()
    return FoldReport(0, len(pairs), difference, reverted=True)


def fold_pyramid(model: CoarseToFine, *, seed: int = 0) -> CoarseToFine:
    """A copy of ``model`` in eval mode with BatchNorm folded in every generator.

    Each generator is checked on a random input of twice the pad multiple per side;
    ``model`` itself is untouched (and can still be trained).
    """
    folded = copy.deepcopy(model).eval()
    parameter = next(folded.parameters(), None)
    device = parameter.device if parameter is not None else torch.device("cpu")
    generator = torch.Generator().manual_seed(seed)
    side = 2 * folded.pad_multiple
    for module in folded.generators:
        shape = (1, folded.generator_in_channels, side, side)
        example = torch.rand(shape, generator=generator).mul_(2).sub_(1)
        fold_batchnorm(module, example.to(device))
    return folded


@dataclass
class _Produced:
    """A convolution's output seen during the run, and whether something else used it."""

    conv: nn.Module
    tensor: torch.Tensor
    version: int
    foreign: bool = False


class _Trace(TorchFunctionMode):
    """Records convolution outputs, which BatchNorm consumed each, and any other use."""

    def __init__(self) -> None:
        super().__init__()
        self.produced: dict[int, _Produced] = {}
        self.consumers: dict[nn.Module, set[nn.Module | None]] = {}
        self.normalising: list[torch.Tensor] = []

    def __torch_function__(
        self,
        func: Callable[..., Any],
        types: tuple[type, ...],
        args: tuple[Any, ...] = (),
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        if getattr(func, "__name__", "") not in _METADATA:
            for tensor in _tensors((args, kwargs)):
                record = self.produced.get(id(tensor))
                active = self.normalising and tensor is self.normalising[-1]
                if record is not None and record.tensor is tensor and not active:
                    record.foreign = True
        return func(*args, **(kwargs or {}))

    def conv_output(self, conv: nn.Module, inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            self.produced[id(output)] = _Produced(conv, output, output._version)

    def norm_input(self, norm: nn.Module, inputs: tuple[Any, ...]) -> None:
        x = inputs[0] if inputs else None
        record = self.produced.get(id(x))
        fresh = record is not None and record.tensor is x and x._version == record.version
        self.consumers.setdefault(norm, set()).add(record.conv if fresh else None)
        self.normalising.append(x)

    def norm_output(self, norm: nn.Module, inputs: Any, output: Any) -> None:
        self.normalising.pop()


def _find_pairs(
    module: nn.Module, example: torch.Tensor
) -> tuple[list[tuple[nn.Module, nn.Module]], Any]:
    """(convolution, BatchNorm) pairs that can be folded, and the output on ``example``."""
    trace = _Trace()
    handles = []
    for child in module.modules():
        if isinstance(child, CONVOLUTIONS + TRANSPOSED_CONVOLUTIONS):
            handles.append(child.register_forward_hook(trace.conv_output))
        elif _foldable_norm(child):
            handles.append(child.register_forward_pre_hook(trace.norm_input))
            handles.append(child.register_forward_hook(trace.norm_output))
    try:
        with trace:
            output = module(example)
    finally:
        for handle in handles:
            handle.remove()
    used_elsewhere = {record.conv for record in trace.produced.values() if record.foreign}
    norms_of: dict[nn.Module, list[nn.Module]] = {}
    for norm, convs in trace.consumers.items():
        if len(convs) == 1 and None not in convs:
            norms_of.setdefault(next(iter(convs)), []).append(norm)
    pairs = [
        (conv, norms[0])
        for conv, norms in norms_of.items()
        if len(norms) == 1 and conv not in used_elsewhere
    ]
    return pairs, output


def _foldable_norm(module: nn.Module) -> bool:
    """An eval-mode BatchNorm with running statistics whose replacement is known."""
    return (
        isinstance(module, BATCH_NORMS)
        and not module.training
        and module.running_mean is not None
        and module.running_var is not None
        and _replacement(module) is not None
    )


def _replacement(norm: nn.Module) -> nn.Module | None:
    """What ``norm`` becomes once folded: nothing for a plain BatchNorm, the dropout and
    activation of a BatchNorm + activation module in timm's layout, else unknown."""
    if type(norm) in BATCH_NORMS:
        return nn.Identity()
    drop, act = getattr(norm, "drop", None), getattr(norm, "act", None)
    if isinstance(drop, nn.Module) and isinstance(act, nn.Module):
        return nn.Sequential(drop, act)
    return None


def _fold(root: nn.Module, conv: nn.Module, norm: nn.Module) -> Callable[[], None] | None:
    """Fold ``norm`` into ``conv`` inside ``root``; returns the function that undoes it,
    or ``None`` (nothing changed) where the convolution's weights cannot be replaced
    (e.g. a parametrization such as weight norm computes them)."""
    if parametrize.is_parametrized(conv) or parametrize.is_parametrized(norm):
        return None
    transpose = isinstance(conv, TRANSPOSED_CONVOLUTIONS)
    try:
        fused = fuse_conv_bn_eval(conv, norm, transpose=transpose)
    except (RuntimeError, KeyError, TypeError, ValueError, AttributeError):
        return None  # a convolution subclass that holds its weights otherwise
    replacement = _replacement(norm)
    places = _replace(root, conv, fused) + _replace(root, norm, replacement)

    def undo() -> None:
        for parent, name, original in places:
            setattr(parent, name, original)

    return undo


def _replace(
    root: nn.Module, old: nn.Module, new: nn.Module
) -> list[tuple[nn.Module, str, nn.Module]]:
    """Put ``new`` wherever ``old`` is a child in ``root``; returns (parent, name, old)."""
    places = [
        (parent, name, child)
        for parent in root.modules()
        for name, child in parent.named_children()
        if child is old
    ]
    for parent, name, _ in places:
        setattr(parent, name, new)
    return places


def _tensors(tree: Any) -> list[torch.Tensor]:
    return [leaf for leaf in tree_leaves(tree) if isinstance(leaf, torch.Tensor)]


def _max_difference(reference: Any, output: Any) -> float:
    pairs = zip(_tensors(reference), _tensors(output), strict=True)
    return max((float((a.float() - b.float()).abs().max()) for a, b in pairs), default=0.0)
