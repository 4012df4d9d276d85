import subprocess
import sys
import textwrap


def test_smp_imports_and_builds():
    from pyramidrefine._compat import import_torchvision

    import_torchvision()
    import_torchvision()  # idempotent
    import segmentation_models_pytorch as smp

    model = smp.create_model(
        "unet", encoder_name="resnet18", encoder_weights=None, in_channels=4, classes=2
    )
    assert model.encoder.output_stride == 32


def test_is_a_no_op_when_torchvision_imports(tmp_path):
    """With a working torchvision nothing is defined (here: a stand-in package)."""
    (tmp_path / "torchvision").mkdir()
    (tmp_path / "torchvision" / "__init__.py").write_text("WORKING = True\n")
    script = textwrap.dedent(
        """
        from pyramidrefine import _compat
        _compat.import_torchvision()
        import torchvision
        assert torchvision.WORKING and _compat._schema_library is None
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(tmp_path), "PATH": ""},
    )
    assert result.returncode == 0, result.stderr
