"""Shared test fixtures."""
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def find_tf_python():
    """An interpreter that imports TensorFlow: $TFMINI_TF_PYTHON, else the repo's .venv-tf (which .ci/run
    makes), else this one if it has TensorFlow; None if there is none."""
    for path in (os.environ.get("TFMINI_TF_PYTHON"), str(ROOT / ".venv-tf" / "bin" / "python"), sys.executable):
        if path and os.path.exists(path):
            probe = subprocess.run([path, "-c", "import tensorflow"], capture_output=True, timeout=180)
            if probe.returncode == 0:
                return path
    return None


@pytest.fixture(scope="session")
def tf_python():
    path = find_tf_python()
    if path is None:
        pytest.skip("TensorFlow is not installed here (.ci/run puts tensorflow-cpu in .venv-tf; or set "
                    "TFMINI_TF_PYTHON to an interpreter that has it)")
    return path
