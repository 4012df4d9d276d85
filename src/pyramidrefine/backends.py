"""Which runtime runs a pipeline's generators: torch, or onnxruntime on a cached export.

``onnxruntime`` runs the model's generators exported to ONNX (built once per model and
kept under :func:`cache_dir`), inside the same pyramid loop as torch: the same levels,
priors, tiling and memory budget, only the generator passes run elsewhere. ``auto`` runs
each input on the backend that was measured faster on this machine for its size bucket
(one generator pass of each, at the first input of that bucket, remembered on disk next
to the export), and on torch where onnxruntime is not installed, the device is not the
CPU, or the precision is forced to bf16. Either backend's output agrees with torch
float32 within :data:`AGREEMENT` (mean absolute difference), checked on a probe input
each time the export is opened.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import socket
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Literal

import torch
from torch import nn

from . import profiling
from .atomic import write_text_atomic
from .choices import BACKENDS
from .errors import ConfigurationError, PyramidRefineError
from .export import OPSET, export
from .extras import require
from .onnx_runtime import OnnxCoarseToFine
from .pyramid import CoarseToFine

Backend = Literal["auto", "torch", "onnxruntime"]
CACHE_ENV = "PYRAMIDREFINE_CACHE"
CACHE_VERSION = 2  # bump when the export or the key changes what a cached folder holds
AGREEMENT = 1e-3  # mean |onnxruntime - torch float32| on a probe, in the model's units
# auto: inputs whose long side is below MIN_SIDE run on torch (both take milliseconds);
# above, sizes are bucketed by powers of two, measured at most at MAX_MEASURED_SIDE².
MIN_SIDE = 256
MAX_MEASURED_SIDE = 1024
FASTER = 0.9  # onnxruntime is chosen when its pass takes under this fraction of torch's
DECISIONS = "decisions.json"

Predictor = Callable[[torch.Tensor], torch.Tensor]


def cache_dir() -> Path:
    """Where pyramidrefine keeps what it builds once per machine: ``$PYRAMIDREFINE_CACHE``,
    else ``$XDG_CACHE_HOME/pyramidrefine``, else ``~/.cache/pyramidrefine``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base).expanduser() / "pyramidrefine"


def onnxruntime_available() -> bool:
    """Whether onnxruntime and onnx (to export) are installed."""
    return all(importlib.util.find_spec(name) is not None for name in ("onnxruntime", "onnx"))


def model_key(model: CoarseToFine) -> str:
    """sha256 of ``model``'s generators (structure and weights): names their export.

    The pyramid loop runs in torch, so only the generators matter.
    """
    digest = hashlib.sha256(f"v{CACHE_VERSION} opset{OPSET}\n{model.generators!r}\n".encode())
    for name, tensor in model.generators.state_dict().items():
        digest.update(f"{name}:{tuple(tensor.shape)}:{tensor.dtype}\n".encode())
        digest.update(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
    return digest.hexdigest()


def export_location(model: CoarseToFine) -> Path:
    """Where :func:`exported_folder` keeps ``model``'s export (written or not)."""
    return cache_dir() / "onnx" / model_key(model)


def exported_folder(model: CoarseToFine) -> Path:
    """``model``'s ONNX export under :func:`cache_dir`, written (atomically) if not there."""
    folder = export_location(model)
    if not (folder / "pyramid.json").is_file():
        try:
            export(model.with_settings(tile=None), folder, "onnx")  # run-time tiles aside
        except OSError as error:
            raise ConfigurationError(
                f"cannot write the ONNX export into {folder} ({error.strerror or error}); "
                f"set {CACHE_ENV} to a folder that can be written"
            ) from None
    return folder


class OnnxGenerator(nn.Module):
    """A generator pass run by an onnxruntime session, in a torch pyramid loop.

    ``reference`` is the torch generator it was exported from: its tensors stand for the
    pass's memory when a memory budget plans tiles (:meth:`peak_tensor_bytes`).
    """

    def __init__(self, session, reference: nn.Module) -> None:
        super().__init__()
        self.session = session
        self.input_name = session.get_inputs()[0].name
        self.reference = reference

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        array = x.detach().to("cpu", torch.float32).contiguous().numpy()
        (output,) = self.session.run(None, {self.input_name: array})
        return torch.from_numpy(output).to(x.device)

    def peak_tensor_bytes(self, probe: torch.Tensor) -> int:
        """Peak tensor bytes of the reference generator's float32 pass on ``probe``."""
        with torch.autocast(probe.device.type, enabled=False):
            peak, _ = profiling.peak_tensor_bytes(self.reference.eval(), probe.float())
        return peak


def onnx_pyramid(model: CoarseToFine, folder: Path | None = None) -> CoarseToFine:
    """A view of ``model`` whose generators run in onnxruntime (same loop and settings).

    The generators come from ``folder`` (default: :func:`exported_folder`, which exports
    ``model`` once into :func:`cache_dir`); each is checked against ``model``'s (float32)
    on a probe input, within :data:`AGREEMENT`.
    """
    require("onnxruntime", "export", "backend='onnxruntime'")
    require("onnx", "export", "backend='onnxruntime'")
    folder = exported_folder(model) if folder is None else folder
    # tile=0: the pyramid loop and its tiles stay torch's; only the sessions are used.
    exported = OnnxCoarseToFine(folder, tile=0, threads=torch.get_num_threads())
    generators = [
        OnnxGenerator(session, reference)
        for session, reference in zip(exported.sessions, model.generators, strict=True)
    ]
    for generator in generators:
        check_agreement(model, generator)
    view = model.with_settings()
    view.generators = nn.ModuleList(generators)
    return view


def check_agreement(model: CoarseToFine, generator: OnnxGenerator) -> None:
    """Raise :class:`ConfigurationError` unless ``generator`` matches its reference."""
    side = 2 * model.pad_multiple
    probe = torch.rand(
        1, model.generator_in_channels, side, side, generator=torch.Generator().manual_seed(0)
    )
    parameter = next(generator.reference.parameters())
    with torch.inference_mode(), torch.autocast(parameter.device.type, enabled=False):
        expected = generator.reference.eval()(probe.to(parameter))
        difference = float((generator(probe) - expected.float().cpu()).abs().mean())
    if not difference <= AGREEMENT:
        raise ConfigurationError(
            f"the ONNX export of this model differs from it by {difference:.2g} (mean, over "
            f"{AGREEMENT:g}) on a probe input; use backend='torch'"
        )


def size_bucket(height: int, width: int) -> int | None:
    """The power of two that ``auto`` measures for this size (``None``: below MIN_SIDE)."""
    side = max(height, width)
    if side < MIN_SIDE:
        return None
    return min(MAX_MEASURED_SIDE, 1 << (side - 1).bit_length())


class AutoBackend:
    """Runs each input with torch or onnxruntime, whichever was measured faster for its
    size bucket; the measurements are kept beside the export, in ``decisions.json``.

    The export is built (or opened) at the first input of a measured size, so a run on
    small images never exports; if it cannot be, everything runs on torch, with a warning.
    """

    def __init__(
        self,
        model: CoarseToFine,
        torch_predict: Predictor,
        make_predict: Callable[[CoarseToFine], Predictor],
        *,
        precision: str,
        autocast: Callable[[], contextlib.AbstractContextManager],
    ) -> None:
        self.model = model
        self.make_predict = make_predict
        self.torch_predict = torch_predict
        self.onnx_model: CoarseToFine | None = None
        self.path: Path | None = None  # decisions.json beside the export
        self.precision = precision
        self.autocast = autocast
        self.failed = False

    def __call__(self, x: torch.Tensor, guide: torch.Tensor | None = None) -> torch.Tensor:
        hinted = {} if guide is None else {"guide": guide}
        return self.predictor(*x.shape[-2:])(x, **hinted)

    def predictor(self, height: int, width: int) -> Predictor:
        """The predictor chosen for an input of this size."""
        bucket = size_bucket(height, width)
        if bucket is None or self.failed or self.backend_for(bucket) == "torch":
            return self.torch_predict
        return self.onnx_predict

    def backend_for(self, bucket: int) -> str:
        """The backend measured faster for ``bucket`` (measured now if not yet on record);
        the export is not opened for a size on record as torch's."""
        threads = torch.get_num_threads()
        key = f"{socket.gethostname()} {self.precision} {bucket}px {threads}threads"
        if self.path is None:
            self.path = export_location(self.model) / DECISIONS
        decisions = self._read()
        recorded = decisions.get(key)
        if isinstance(recorded, dict) and recorded.get("backend") == "torch":
            return "torch"
        if self.onnx_model is None:
            try:
                folder = exported_folder(self.model)
                self.onnx_model = onnx_pyramid(self.model, folder)
            except (PyramidRefineError, RuntimeError, OSError, ValueError) as error:
                first = (str(error) or type(error).__name__).splitlines()[0]
                warnings.warn(f"backend auto: using torch, not onnxruntime ({first})", stacklevel=4)
                self.failed = True
                return "torch"
            self.onnx_predict = self.make_predict(self.onnx_model)
        if key not in decisions:
            decisions[key] = self.measure(bucket)
            with contextlib.suppress(OSError):  # a read-only cache: measure again next time
                write_text_atomic(self.path, json.dumps({**self._read(), **decisions}, indent=1))
        return decisions[key]["backend"]

    def measure(self, bucket: int) -> dict[str, float | str]:
        """Seconds of one pass of the finest level's generator in each backend, on a
        ``bucket``² input, and the faster backend."""
        reference = self.model.generators[-1]
        onnx_generator = self.onnx_model.generators[-1]
        parameter = next(reference.parameters())
        x = torch.rand(1, self.model.generator_in_channels, bucket, bucket).mul_(2).sub_(1)

        def torch_pass() -> None:
            with torch.inference_mode(), self.autocast():
                reference(x.to(parameter.device))

        seconds = {
            "torch": _seconds(torch_pass),
            "onnxruntime": _seconds(lambda: onnx_generator(x)),
        }
        faster = seconds["onnxruntime"] < FASTER * seconds["torch"]
        return {"backend": "onnxruntime" if faster else "torch", **seconds}

    def _read(self) -> dict[str, dict]:
        try:
            decisions = json.loads(self.path.read_text())
        except (OSError, ValueError):
            return {}
        return decisions if isinstance(decisions, dict) else {}


def _seconds(run: Callable[[], None]) -> float:
    """Wall time of ``run`` after one untimed call (which sets up the shapes)."""
    run()
    start = time.perf_counter()
    run()
    return time.perf_counter() - start


def select_backend(
    backend: str,
    model: CoarseToFine,
    torch_predict: Predictor,
    make_predict: Callable[[CoarseToFine], Predictor],
    *,
    device: torch.device,
    precision: str,
    forced_precision: bool,
    autocast: Callable[[], contextlib.AbstractContextManager],
) -> tuple[Predictor, str]:
    """The predictor for ``backend`` and the backend that runs it (``auto`` where chosen
    per input by :class:`AutoBackend`).

    ``torch_predict`` is ``make_predict(model)``: ``make_predict`` turns a model into a
    predictor (the inference method);
    ``forced_precision``: bf16 was asked for, not chosen by ``precision="auto"``.
    """
    if backend not in BACKENDS:
        raise ConfigurationError(f"unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
    if backend == "onnxruntime":
        if device.type != "cpu":
            raise ConfigurationError(
                f"backend='onnxruntime' runs on the CPU, not on {device}; use backend='torch'"
            )
        if forced_precision:
            raise ConfigurationError(
                "backend='onnxruntime' runs the exported float32 graph; use precision='fp32' "
                "or 'auto', or backend='torch' for bf16"
            )
        return make_predict(onnx_pyramid(model)), "onnxruntime"
    if backend == "torch" or device.type != "cpu" or forced_precision:
        return torch_predict, "torch"
    if not onnxruntime_available():
        return torch_predict, "torch"
    auto = AutoBackend(model, torch_predict, make_predict, precision=precision, autocast=autocast)
    return auto, "auto"
