"""Issue 21: a model folder from someone else is data: it cannot run code, download or
exhaust the machine, and every way it can be wrong is one line."""

import json
import pickle
import socket
import tempfile
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import segmentation_models_pytorch  # noqa: F401 (imported once here, not inside a deadline)
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image
from safetensors.torch import load_file, save_file

import pyramidrefine as pr
from pyramidrefine import model_config, pretrained, weights_check
from pyramidrefine.checkpoints import constructor_parameters
from pyramidrefine.cli import main
from pyramidrefine.errors import CheckpointError, ConfigurationError, PyramidRefineError

TINY = {"generator": "unet", "in_channels": 1, "out_channels": 2, "levels": 2}
TINY_UNET = {"base_channels": 4, "depth": 2}


class Payload:
    """Unpickling this creates ``marker``: proof that code from the folder ran."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


@pytest.fixture(scope="module")
def weights(tmp_path_factory):
    """``model.safetensors`` of the tiny U-Net colorizer, and its config."""
    folder = tmp_path_factory.mktemp("tiny") / "model"
    pr.CoarseToFine(**TINY, **TINY_UNET).save_pretrained(folder)
    return folder / "model.safetensors", json.loads((folder / "config.json").read_text())


@pytest.fixture
def payload(tmp_path):
    """A real pickle payload that touches ``marker`` when unpickled (checked once here)."""
    marker, control = tmp_path / "pwned", tmp_path / "control"
    pickle.loads(pickle.dumps(Payload(control)))
    assert control.exists()  # the payload works: unpickling it would run code
    path = tmp_path / "payload.pth"
    path.write_bytes(pickle.dumps({"state_dict": Payload(marker)}))
    return path, marker


def model_folder(root, weights, config):
    """A folder with the tiny model's weights and ``config`` (an object, or raw text)."""
    folder = Path(root) / "model"
    folder.mkdir(exist_ok=True)
    (folder / "model.safetensors").write_bytes(Path(weights[0]).read_bytes())
    text = config if isinstance(config, str) else json.dumps(config)
    (folder / "config.json").write_text(text)
    return folder


def refused(folder, *patterns):
    """Load ``folder``; assert one CheckpointError line matching every pattern."""
    with pytest.raises(CheckpointError) as caught:
        pr.CoarseToFine.from_pretrained(folder)
    message = str(caught.value)
    assert "\n" not in message
    for pattern in patterns:
        assert pattern in message, message
    return message


def test_the_tiny_folder_loads(tmp_path, weights):
    folder = model_folder(tmp_path, weights, weights[1])
    assert isinstance(pr.CoarseToFine.from_pretrained(folder), pr.CoarseToFine)


def test_the_shipped_colorizer_config_passes_the_checks():
    config = json.loads((pretrained.default_colorizer_dir() / "config.json").read_text())
    parameters = constructor_parameters(pr.CoarseToFine)
    checked = model_config.check_config(config, "shipped", parameters)
    assert checked["encoder_weights"] is None and checked["encoder_name"] == config["encoder_name"]


@pytest.mark.parametrize(
    "change",
    [
        lambda p: {"checkpoint_path": p},
        lambda p: {"pretrained_cfg_overlay": {"file": p}},
        lambda p: {"refiner": {"checkpoint_path": p}},
        lambda p: {"pretrained_cfg": {"url": "https://example.com/x.pth"}},
    ],
    ids=["checkpoint_path", "overlay-file", "refiner", "pretrained_cfg-url"],
)
def test_keys_that_load_files_are_refused_and_never_unpickled(tmp_path, weights, payload, change):
    path, marker = payload
    config = {
        **TINY,
        "generator": "smp",
        "encoder_name": "tu-resnet18",
        **change(str(path)),
    }
    folder = model_folder(tmp_path, weights, config)
    refused(folder, "read a file or download")
    assert colorize(tmp_path, folder) == 2
    assert not marker.exists()


def test_keys_that_download_are_refused(tmp_path, weights, monkeypatch):
    connections = block_network(monkeypatch)
    config = {
        **TINY,
        "generator": "smp",
        "encoder_name": "tu-resnet18",
        "encoder_weights": "imagenet",
        "pretrained_cfg_overlay": {"hf_hub_id": "someone/else"},
    }
    refused(model_folder(tmp_path, weights, config), "'pretrained_cfg_overlay'")
    assert connections == []


def test_paths_and_urls_in_any_value_are_refused(tmp_path, weights):
    for value in ["/etc/passwd", "https://example.com/w", "weights.pth", "~/x"]:
        folder = model_folder(tmp_path, weights, {**TINY, **TINY_UNET, "norm": value})
        refused(folder, "'norm'", "file path or URL")


def test_saved_pretrained_weights_are_never_fetched(tmp_path, weights, monkeypatch):
    connections = block_network(monkeypatch)
    imagenet = {"encoder_name": "resnet18", "encoder_weights": "imagenet"}  # smp downloads it
    config = {**TINY, "generator": "smp", **imagenet, "refiner": {"encoder_weights": "imagenet"}}
    checked = model_config.check_config(config, "folder", [*TINY, "refiner"])
    assert checked["encoder_weights"] is None and checked["refiner"]["encoder_weights"] is None
    refused(model_folder(tmp_path, weights, config), "does not fit the architecture")
    assert connections == []


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"levels": 1_000_000}, "levels must be at most 12"),
        ({"pad_multiple": 1_000_000}, "pad_multiple must be at most 1024"),
        ({"levels": None, "base_size": 10**9}, "base_size must be at most"),
        ({"tile": 10**7, "overlap": 8}, "tile must be at most"),
        ({"in_channels": 10**6}, "in_channels must be at most"),
        ({"base_channels": 4096, "max_channels": 4096}, "base_channels must be"),
        ({"depth": 1000}, "depth must be"),
        ({"levels": "3"}, "levels must be an integer"),
        ({"tile": 1, "overlap": 0}, "a saved tile must be at least 32"),
        ({"tile": 128, "overlap": 127}, "overlap of at most half"),
    ],
)
def test_sizes_beyond_the_bounds_are_refused_before_building(tmp_path, weights, change, pattern):
    folder = model_folder(tmp_path, weights, {**TINY, **TINY_UNET, **change})
    refused(folder, pattern)


def test_a_model_far_too_large_is_refused_before_allocation(tmp_path, weights):
    huge = {"base_channels": 512, "max_channels": 2048, "depth": 8}  # each within its bound
    folder = model_folder(tmp_path, weights, {**TINY, **huge})
    refused(folder, f"more than the {weights_check.MAX_PARAMETERS:,}")


@pytest.mark.parametrize(
    ("kwargs", "pattern"),
    [
        ({"levels": 1_000_000}, "levels must be at most 12"),
        ({"pad_multiple": 1_000_000}, "pad_multiple must be at most 1024"),
        ({"levels": None, "max_levels": 50}, "max_levels must be at most 12"),
        ({"tile": 100_000}, "tile must be at most 16384"),
    ],
)
def test_direct_construction_is_bounded_too(kwargs, pattern):
    with pytest.raises(ConfigurationError, match=pattern):
        pr.CoarseToFine(**{**TINY, **TINY_UNET, **kwargs})
    if "pad_multiple" not in kwargs:  # with_settings changes the pyramid, not the padding
        with pytest.raises(ConfigurationError, match=pattern):
            pr.CoarseToFine(**TINY, **TINY_UNET).with_settings(**kwargs)


@pytest.mark.parametrize("dtype", [torch.int64, torch.float64])
def test_weights_of_the_wrong_dtype_are_refused(tmp_path, weights, dtype):
    folder = model_folder(tmp_path, weights, weights[1])
    tensors = load_file(folder / "model.safetensors")
    save_file(
        {k: v.to(dtype) if v.is_floating_point() else v for k, v in tensors.items()},
        folder / "model.safetensors",
    )
    refused(folder, "weights must be F16, BF16, F32")


def test_half_precision_weights_still_load(tmp_path, weights):
    folder = model_folder(tmp_path, weights, weights[1])
    tensors = load_file(folder / "model.safetensors")
    save_file(
        {k: v.half() if v.is_floating_point() else v for k, v in tensors.items()},
        folder / "model.safetensors",
    )
    model = pr.CoarseToFine.from_pretrained(folder)
    assert next(model.parameters()).dtype == torch.float32


@pytest.mark.parametrize("text", ["null", "[1, 2]", '"unet"', "3"])
def test_a_config_that_is_no_object_is_one_line(tmp_path, weights, text):
    refused(model_folder(tmp_path, weights, text), "must hold a JSON object")


@pytest.mark.parametrize(
    ("change", "pattern"),
    [
        ({"generator": "smp", "arch": "no-such-arch"}, "'arch' must be one of smp's"),
        ({"generator": "smp", "encoder_name": "no-such-encoder"}, "encoder_name must be one"),
        ({"generator": "smp", "encoder_name": "tu-no_such_model"}, "encoder_name must be one"),
        ({"generator": "smp", "arch": "fpn", "decoder_attention_type": "scse"}, "unknown key"),
        ({"generator": "smp", "aux_params": {"classes": 3}}, "unknown key 'aux_params'"),
        ({"generator": "no-such-generator"}, "unknown generator"),
    ],
)
def test_unknown_architectures_and_encoders_are_one_line(tmp_path, weights, change, pattern):
    refused(model_folder(tmp_path, weights, {**TINY, **change}), pattern)


def checked(config):
    return model_config.check_config(config, "folder", [*TINY, "refiner", "shared"])


def test_the_refiner_is_checked_for_the_architecture_it_is_built_with():
    smp = {**TINY, "generator": "smp", "encoder_name": "resnet18"}
    refiner = {"decoder_channels": [64, 32, 24, 16, 8]}
    assert checked({**smp, "refiner": refiner})["refiner"] == refiner
    with pytest.raises(CheckpointError, match=r"unknown key 'refiner\.decoder_attention_type'"):
        checked({**smp, "arch": "fpn", "refiner": {"decoder_attention_type": "scse"}})
    with pytest.raises(CheckpointError, match=r"refiner\.decoder_channels must be"):
        checked({**smp, "refiner": {"decoder_channels": [10**6] * 5}})


@pr.register_generator("test_untrusted_plugin", override=True)
def plugin_generator(in_channels, out_channels, width=4, name="x", **kwargs):
    return torch.nn.Conv2d(in_channels, out_channels, 1)


def test_a_plugin_generator_takes_only_its_named_scalar_parameters():
    plugin = {**TINY, "generator": "test_untrusted_plugin"}
    assert checked({**plugin, "width": 8, "name": "y"})["width"] == 8
    for change, pattern in [
        ({"anything": 1}, "unknown key 'anything'"),  # no **kwargs passthrough
        ({"width": {"nested": 1}}, "width must be"),
        ({"width": 10**9}, "width must be"),
    ]:
        with pytest.raises(CheckpointError, match=pattern):
            checked({**plugin, **change})


def test_deeply_nested_json_is_one_line(tmp_path, weights):
    deep = "[" * 100_000 + "]" * 100_000
    refused(model_folder(tmp_path, weights, f'{{"refiner": {deep}}}'), "nested too deeply")
    nested = {**TINY, **TINY_UNET, "refiner": {"a": [[[[[[[[[1]]]]]]]]]}}
    refused(model_folder(tmp_path, weights, nested), "nested more than")


def test_an_oversized_config_is_refused_unread(tmp_path, weights):
    text = json.dumps({**TINY, "pad": " " * (model_config.MAX_CONFIG_BYTES + 1)})
    refused(model_folder(tmp_path, weights, text), "larger than")


@pytest.mark.parametrize("name", ["owner/name@main", "owner/name@v1.0"])
def test_a_hub_id_with_a_revision_is_understood(name, monkeypatch):
    connections = block_network(monkeypatch)
    with pytest.raises(CheckpointError, match="the Hub could not provide it") as caught:
        pr.CoarseToFine.from_pretrained(name)
    assert "\n" not in str(caught.value) and str(caught.value).startswith(f"{name}: ")
    assert connections == []


def test_a_revision_given_twice_is_one_line():
    with pytest.raises(CheckpointError, match="give the revision once"):
        pr.CoarseToFine.from_pretrained("owner/name@main", revision="dev")


@pytest.mark.parametrize(
    ("config", "pattern"),
    [
        ({**TINY, **TINY_UNET, "levels": 1_000_000}, "levels must be at most 12"),
        ({**TINY, **TINY_UNET, "base_channels": 4096}, "base_channels must be"),
        ({**TINY, "generator": "smp", "arch": "nope"}, "'arch' must be one of smp's"),
        ("null", "must hold a JSON object"),
        ("[" * 50_000, "config.json"),
    ],
    ids=["levels", "base_channels", "arch", "null", "nested"],
)
def test_the_cli_gives_one_line_and_exit_2(tmp_path, weights, capsys, config, pattern):
    code = colorize(tmp_path, model_folder(tmp_path, weights, config))
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and pattern in err, err
    assert err.startswith("pyramidrefine colorize: error:")
    assert not list((tmp_path / "out").glob("*"))


def colorize(tmp_path, folder):
    """``pyramidrefine colorize photo.png --out out --model folder``: the exit code."""
    out = tmp_path / "out"
    return main(["colorize", str(photo(tmp_path)), "--out", str(out), "--model", str(folder)])


def photo(tmp_path):
    path = tmp_path / "photo.png"
    Image.fromarray((np.random.rand(12, 16) * 255).astype(np.uint8)).save(path)
    return path


def block_network(monkeypatch):
    """Make every socket connection fail, and record the attempts."""
    attempts = []

    def refuse(self, address, *args):
        attempts.append(address)
        raise OSError("network blocked by the test")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    return attempts


# Property-based fuzzing of config.json ---------------------------------------------------

KEYS = [
    *TINY,
    *TINY_UNET,
    "max_channels",
    "norm",
    "base_size",
    "max_levels",
    "tile",
    "overlap",
    "pad_multiple",
    "shared",
    "refiner",
    "arch",
    "encoder_name",
    "encoder_weights",
    "decoder_channels",
    "checkpoint_path",
    "pretrained",
    "pretrained_cfg",
    "pretrained_cfg_overlay",
    "hf_hub_id",
    "file",
]


def json_values(paths):
    scalars = (
        st.none()
        | st.booleans()
        | st.integers(-(10**30), 10**30)
        | st.sampled_from([0, 1, 2, 4, 12, 13, 1024, 10**6, 2**63])
        | st.floats(allow_nan=True, allow_infinity=True)
        | st.text(max_size=12)
        | st.sampled_from(["unet", "smp", "imagenet", "batch", "tu-resnet18", "resnet18"])
        | st.sampled_from(paths)
    )
    return st.recursive(
        scalars,
        lambda inner: (
            st.lists(inner, max_size=4)
            | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), inner, max_size=4)
        ),
        max_leaves=12,
    )


@st.composite
def configs(draw, paths):
    """A valid tiny config with keys changed, added or removed; or any JSON at all."""
    values = json_values(paths)
    if draw(st.integers(0, 9)) == 0:
        return json.dumps(draw(values))
    config = {**TINY, **TINY_UNET}
    for key in draw(st.lists(st.sampled_from(KEYS) | st.text(max_size=8), max_size=4)):
        if draw(st.booleans()):
            config.pop(key, None)
        else:
            config[key] = draw(values)
    return json.dumps(config)


@pytest.fixture(scope="module")
def fuzz_payload(tmp_path_factory):
    root = tmp_path_factory.mktemp("payload")
    path = root / "payload.pth"
    path.write_bytes(pickle.dumps({"state_dict": Payload(root / "pwned")}))
    return path, root / "pwned"


def test_fuzzed_configs_never_run_code_download_or_crash(weights, fuzz_payload, monkeypatch):
    payload_path, marker = fuzz_payload
    connections = block_network(monkeypatch)
    paths = [str(payload_path), f"file://{payload_path}", "https://example.com/w.pth", "x/y"]

    @settings(
        max_examples=60,
        deadline=timedelta(seconds=15),
        suppress_health_check=[HealthCheck.too_slow],
    )
    @given(text=configs(paths))
    def load(text):
        with tempfile.TemporaryDirectory() as root:
            folder = model_folder(root, weights, text)
            try:
                pr.CoarseToFine.from_pretrained(folder)
            except PyramidRefineError as error:
                assert "\n" not in str(error)
        assert not marker.exists()
        assert connections == []

    load()


@pr.register_task("test_untrusted_any_kwargs")
class AnyKwargsTask(pr.Task):
    """A task whose constructor takes ``**kwargs``: a saved config may set none of them."""

    in_channels = 3
    out_channels = 3

    def __init__(self, **kwargs):
        self.kwargs = kwargs


def trained_on(tmp_path, text):
    """A folder whose ``training.yaml`` says ``text`` (only the task is read from it)."""
    folder = tmp_path / "denoiser"
    folder.mkdir(exist_ok=True)
    (folder / pretrained.TRAINING_FILE).write_text(text)
    return folder


@pytest.mark.parametrize(
    ("text", "pattern"),
    [
        ("task_kwargs: {sigma: [10, 10], evil: 1}", "unknown key 'evil' for the 'denoising' task"),
        ("task_kwargs: {sigma: /tmp/payload.pth}", "looks like a file path or URL"),
        ("task_kwargs: {sigma: [1.0e+300, 1]}", "sigma must be"),
        ("task_kwargs: {sigma: {nested: 1}}", "sigma must be"),
        ("task_kwargs: {sigma: [300, 400]}", "sigma"),  # the task's own check, as one line
        ("task_kwargs: {1: 2}", "is not a string"),
        ("task_kwargs: {sigma: 2026-01-01}", "sigma must be"),  # YAML's dates are no JSON
        ("task_kwargs: [1]", "task_kwargs a mapping"),
        ("task: [denoising]", "task must be a name"),
    ],
)
def test_training_yaml_task_kwargs_are_checked_like_a_config(tmp_path, text, pattern):
    task = "" if text.startswith("task:") else "task: denoising\n"
    folder = trained_on(tmp_path, task + text + "\n")
    with pytest.raises(CheckpointError) as caught:
        pr.model_task(folder)
    message = str(caught.value)
    assert "\n" not in message and pattern in message, message


def test_training_yaml_sets_only_the_parameters_a_task_names(tmp_path):
    folder = trained_on(tmp_path, "task: denoising\ntask_kwargs: {sigma: [3, 7]}\n")
    assert pr.model_task(folder).sigma == (3.0, 7.0)
    trained_on(tmp_path, "task: test_untrusted_any_kwargs\ntask_kwargs: {x: 1}\n")
    with pytest.raises(CheckpointError, match=r"unknown key 'x' .* \(it takes none\)"):
        pr.model_task(folder)


def test_a_task_that_is_not_registered_suggests_importing_it(tmp_path):
    folder = trained_on(tmp_path, "task: no-such-task\n")
    with pytest.raises(pr.UnknownNameError, match="--import FILE") as caught:
        pr.model_task(folder)
    assert "\n" not in str(caught.value)


def test_an_unknown_generator_suggests_importing_it(tmp_path, weights):
    refused(
        model_folder(tmp_path, weights, {**TINY, "generator": "my-own-unet"}),
        "unknown generator 'my-own-unet'",
        "CLI: --import FILE; Python: pyramidrefine.load_module",
    )


def test_predict_refuses_bad_task_kwargs_in_one_line(tmp_path, weights, capsys):
    folder = model_folder(tmp_path, weights, {**TINY, **TINY_UNET})
    (folder / pretrained.TRAINING_FILE).write_text("task: colorization\ntask_kwargs: {a: 1}\n")
    photo = tmp_path / "a.png"
    Image.new("RGB", (16, 16)).save(photo)
    code = main(["predict", "--model", str(folder), str(photo), "--out", str(tmp_path / "o")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1, err
    assert "unknown key 'a' for the 'colorization' task" in err
    assert not (tmp_path / "o").exists()
