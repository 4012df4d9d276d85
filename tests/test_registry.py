import sys
import textwrap

import pytest
from torch import nn

import pyramidrefine as pr
from pyramidrefine.registry import Registry, load_plugins


def test_decorator_registers_and_create_builds():
    registry = Registry("widget")

    @registry.register("square")
    def square(side: int = 2) -> int:
        return side * side

    assert registry.create("square", side=3) == 9
    assert "square" in registry and len(registry) == 1


def test_registering_a_name_twice_needs_override():
    registry = Registry("widget")
    registry.register("a")(lambda: 1)
    with pytest.raises(ValueError, match="already registered"):
        registry.register("a")(lambda: 2)
    registry.register("a", override=True)(lambda: 3)
    assert registry.create("a") == 3


def test_unknown_name_lists_the_known_names():
    with pytest.raises(pr.UnknownNameError) as error:
        pr.create_generator("resnet-unet")
    message = str(error.value)
    assert "unknown generator 'resnet-unet'" in message
    assert "smp" in message and "unet" in message


def test_wildcard_listing():
    registry = Registry("widget")
    for name in ["unet-small", "unet-large", "smp", "patchgan"]:
        registry.register(name)(lambda: None)
    assert registry.list("unet*") == ["unet-large", "unet-small"]
    assert registry.list(["smp", "*gan"]) == ["patchgan", "smp"]
    assert registry.list() == ["patchgan", "smp", "unet-large", "unet-small"]


def test_builtin_entries_are_registered():
    assert {"smp", "unet"} <= set(pr.list_generators())
    assert "colorization" in pr.list_tasks()
    assert isinstance(pr.create_task("colorization"), pr.ColorizationTask)


def _install_fake_distribution(root, name, module_source, entry_point_value):
    """A minimal installed distribution: a module plus a .dist-info with an entry point."""
    (root / f"{name}.py").write_text(textwrap.dedent(module_source))
    info = root / f"{name}-0.1.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(
        f"[pyramidrefine.plugins]\n{name} = {entry_point_value}\n"
    )


def test_entry_point_plugin_registers_a_generator(tmp_path, monkeypatch):
    _install_fake_distribution(
        tmp_path,
        "tiny_plugin",
        """
        from torch import nn
        import pyramidrefine as pr

        @pr.register_generator("plugin-conv")
        def plugin_conv(in_channels, out_channels):
            return nn.Conv2d(in_channels, out_channels, 3, padding=1)
        """,
        "tiny_plugin",
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        assert "tiny_plugin" in load_plugins(reload=True)
        assert "plugin-conv" in pr.list_generators("plugin-*")
        model = pr.CoarseToFine("plugin-conv", in_channels=1, out_channels=2, levels=2)
        assert isinstance(model.generators[0], nn.Conv2d)
    finally:
        pr.GENERATORS._factories.pop("plugin-conv", None)
        sys.modules.pop("tiny_plugin", None)


def test_broken_plugin_warns_and_is_skipped(tmp_path, monkeypatch):
    _install_fake_distribution(
        tmp_path, "broken_plugin", "raise ImportError('no luck')\n", "broken_plugin"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.warns(UserWarning, match="broken_plugin.*no luck"):
        loaded = load_plugins(reload=True)
    assert "broken_plugin" not in loaded
    assert "unet" in pr.list_generators()
