"""examples/mlp_digits.py trains an MLP on scikit-learn's digits to >= 95% test accuracy."""
import importlib.util
import pathlib

import pytest

pytest.importorskip("sklearn")


def _example():
    path = pathlib.Path(__file__).resolve().parents[1] / "examples" / "mlp_digits.py"
    spec = importlib.util.spec_from_file_location("mlp_digits", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_mlp_reaches_95_percent():
    accuracy, loss = _example().train(epochs=40, progress=False)
    assert accuracy >= 0.95
    assert loss < 0.1
