"""Which backend and device a case runs on.

Kept small and import-light: each function imports its backend only when that
backend is the one Keras uses.
"""

from __future__ import annotations

import os


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def current_device() -> str:
    """``gpu:0`` style name of the device Keras computes on, ``cpu`` without an accelerator."""
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_logical_devices("GPU")
            return "gpu:0" if gpus else "cpu"
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            return "cpu" if device.platform == "cpu" else f"{device.platform}:{device.id}"
        if backend == "torch":
            import torch

            return "cuda:0" if torch.cuda.is_available() else "cpu"
    except Exception:  # a broken driver must not break the report
        return "unknown"
    return "cpu"


def visible_devices() -> str | None:
    return os.environ.get("CUDA_VISIBLE_DEVICES")
