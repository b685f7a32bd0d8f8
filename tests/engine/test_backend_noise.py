"""TensorFlow's C++ start-up lines (the ``failed call to cuInit`` of a machine without a GPU, the CUDA probing, the
CPU features) never reach the preflight's output; what the user's code writes does."""

from __future__ import annotations

import textwrap
import warnings

from pytest_hypermodel.api import preflight
from pytest_hypermodel.probe import devices

CUINIT = (
    "E0000 00:00:1733400000.123456   12345 cuda_driver.cc:282] failed call to cuInit: "
    "CUDA_ERROR_NO_DEVICE: no CUDA-capable device is detected\n"
)
START_UP = [
    CUINIT,
    "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n",
    "I0000 00:00:1733400000.1   12345 cudart_stub.cc:31] Could not find cuda drivers on your machine, GPU will not "
    "be used.\n",
    "I0000 00:00:1733400000.2   12345 cpu_feature_guard.cc:227] This TensorFlow binary is optimized to use "
    "available CPU instructions in performance-critical operations.\n",
    "To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow with the appropriate "
    "compiler flags.\n",
    "E0000 00:00:1733400000.3   12345 cuda_dnn.cc:8579] Unable to register cuDNN factory: Attempting to register "
    "factory for plugin cuDNN when one has already been registered\n",
]


def test_the_start_up_lines_are_dropped_and_every_other_line_kept():
    user = "epoch 1: my own progress line\nfailed call to my_api (retrying)\n"
    assert devices.without_backend_noise("".join(START_UP) + user) == user
    assert devices.without_backend_noise(user) == user


def test_a_probe_process_passes_on_the_users_output_without_the_cuinit_line(tmp_path, capfd):
    (tmp_path / "noisy.py").write_text(
        textwrap.dedent(
            f"""
            import os
            import keras

            def build_model(hp):
                os.write(2, {CUINIT.encode()!r})  # as TensorFlow's runtime writes it, to file descriptor 2
                os.write(2, b"my build's own line\\n")
                model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(hp.Int("units", 2, 4, step=2))])
                model.compile("adam", "mse")
                return model
            """
        )
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        report = preflight("noisy.py:build_model", rootpath=tmp_path, isolation="process", rehearsal=False)
    assert report.green, report.reasons()
    err = capfd.readouterr().err
    assert "my build's own line" in err
    assert "cuInit" not in err
