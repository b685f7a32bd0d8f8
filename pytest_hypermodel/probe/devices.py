"""Where cases run: which accelerator each worker gets, and which backend and device a case used.

Import-light: pinning works through environment variables that the backends
read when they are first imported, so it must happen before Keras is
imported, in ``pytest_configure`` (xdist workers get their device from the
controller through ``workerinput``).
"""

from __future__ import annotations

import contextlib
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator

AUTO = "auto"
CPU = "cpu"


class DeviceError(ValueError):
    """A --hypermodel-devices value that cannot be honoured (a usage error)."""


def parse(text: str) -> list[str] | None:
    """``auto`` -> None (detect), ``cpu`` -> [], ``0,1`` -> ["0", "1"]."""
    text = (text or AUTO).strip().lower()
    if text == AUTO:
        return None
    if text == CPU:
        return []
    ids = [part.strip() for part in text.split(",") if part.strip()]
    if not ids or not all(part.isdigit() for part in ids):
        raise DeviceError(f"--hypermodel-devices {text!r}: use auto, cpu, or GPU indices like 0,1")
    return ids


def detect() -> list[str]:
    """The GPUs this process may use, without importing a framework."""
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        return [part.strip() for part in visible.split(",") if part.strip() and part.strip() != "-1"]
    if shutil.which("nvidia-smi") is None:
        return []
    try:
        out = subprocess.run(["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return []
    return [str(i) for i, line in enumerate(line for line in out.splitlines() if line.startswith("GPU "))]


#: The share of host memory a case may be estimated to need, when it runs on the CPU and no budget is given: the
#: rest is the system's, the other workers' and the framework's own.
HOST_SHARE = 0.5


@functools.cache
def memory_budget() -> tuple[int, str] | None:
    """The default memory budget of a case run in this process: the memory of its GPU (the first it may use), else
    HOST_SHARE of the host's; (bytes, where it comes from), None when neither can be read."""
    gpus = detect()
    if gpus and shutil.which("nvidia-smi") is not None:
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=memory.total", "--format=csv,noheader,nounits", "-i", gpus[0]],
                capture_output=True,
                text=True,
                timeout=10,
            ).stdout.strip()
            return int(float(out.splitlines()[0]) * 2**20), f"the memory of GPU {gpus[0]}"
        except (OSError, subprocess.SubprocessError, ValueError, IndexError):
            pass
    try:
        host = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (AttributeError, ValueError, OSError):  # not on a POSIX system
        return None
    return int(host * HOST_SHARE), f"{HOST_SHARE:.0%} of the host's {host / 2**30:.1f} GiB"


def assign(worker_index: int, devices: list[str]) -> str:
    """Round-robin: worker i gets devices[i % n]; "" (the CPU) when there are none. Several workers may share one."""
    return devices[worker_index % len(devices)] if devices else ""


def worker_index(worker_id: str | None) -> int:
    """``gw3`` -> 3; 0 outside xdist."""
    digits = "".join(ch for ch in (worker_id or "") if ch.isdigit())
    return int(digits) if digits else 0


def cores() -> int:
    """CPU cores this process may run on."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def threads_per_worker(local_workers: int) -> int:
    """Each of ``local_workers`` processes on this machine gets an equal share of its cores, at least one."""
    return max(1, cores() // max(1, local_workers))


def environment(device: str, threads: int | None = None) -> dict[str, str]:
    """Variables that pin a process to ``device`` ("" for the CPU) and keep backends from hoarding memory.

    ``threads`` caps the backends' CPU thread pools, so workers sharing a machine
    don't each start one thread per core and fight over them.
    """
    env = {
        "CUDA_VISIBLE_DEVICES": device,
        # TensorFlow: grow GPU memory as needed, so workers can share a GPU.
        "TF_FORCE_GPU_ALLOW_GROWTH": "true",
        # JAX: no whole-memory preallocation, for the same reason.
        "XLA_PYTHON_CLIENT_PREALLOCATE": "false",
        # TensorFlow's C++ start-up chatter (CUDA probing, CPU features) buries the report.
        "TF_CPP_MIN_LOG_LEVEL": "3",
    }
    if not device:
        env["JAX_PLATFORMS"] = "cpu"  # no "GPU not found" warning on CPU-only machines
    if threads:
        env["TF_NUM_INTRAOP_THREADS"] = env["TF_NUM_INTEROP_THREADS"] = str(threads)
        env["OMP_NUM_THREADS"] = str(threads)  # PyTorch's intra-op pool, and oneDNN's
        if threads == 1:
            env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1"
    return env


def pin(device: str, threads: int | None = None) -> None:
    """Apply :func:`environment` to this process, keeping what the user set explicitly."""
    for name, value in environment(device, threads).items():
        if name == "CUDA_VISIBLE_DEVICES" or name not in os.environ:
            os.environ[name] = value


@contextlib.contextmanager
def stderr_held_back() -> Iterator[None]:
    """Hold file descriptor 2 back while a backend loads; replay what it wrote if the block raises.

    TensorFlow 2.21 writes absl INFO lines (oneDNN, CUDA drivers, cuInit) while it loads, before
    TF_CPP_MIN_LOG_LEVEL takes effect, and they would bury the report. Whether pytest's capture
    happened to be on at that moment (it is while conftest.py files load) must not decide it.
    """
    sys.stderr.flush()
    with tempfile.TemporaryFile() as captured:
        saved = os.dup(2)
        os.dup2(captured.fileno(), 2)
        try:
            yield
        except BaseException:
            sys.stderr.flush()
            os.dup2(saved, 2)
            captured.seek(0)
            sys.stderr.write(captured.read().decode(errors="replace"))
            raise
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


#: What the backends' C++ side logs about the machine as they start and first place an op (TensorFlow's CUDA
#: probing: ``failed call to cuInit`` on a machine without a GPU, drivers not found, CPU features, factories
#: registered twice): written straight to file descriptor 2, past TF_CPP_MIN_LOG_LEVEL when it comes before
#: absl's logging starts. Not the user's to act on: a line holding one of these never reaches the preflight's output.
BACKEND_START_UP_NOISE = (
    "failed call to cuInit",
    "cuda_driver.cc",
    "cuda_diagnostics.cc",
    "cuda_executor.cc",
    "cudart_stub.cc",
    "cuda_dnn.cc",
    "cuda_fft.cc",
    "cuda_blas.cc",
    "cpu_feature_guard.cc",
    "port.cc:153] oneDNN custom operations are on",
    "All log messages before absl::InitializeLog() is called are written to STDERR",
    "Unable to register cuDNN factory",
    "Unable to register cuFFT factory",
    "Unable to register cuBLAS factory",
    "computation placer already registered",
    "TensorFlow binary is optimized to use available CPU instructions",
    "To enable the following instructions:",
    "Could not find cuda drivers on your machine",
)


def without_backend_noise(text: str) -> str:
    """``text`` without the lines of :data:`BACKEND_START_UP_NOISE` (every other line kept as it was)."""
    if not any(noise in text for noise in BACKEND_START_UP_NOISE):
        return text
    return "".join(
        line for line in text.splitlines(keepends=True) if not any(noise in line for noise in BACKEND_START_UP_NOISE)
    )


def load_backend() -> None:
    """Import Keras and its backend quietly, devices probed (after :func:`pin`, which sets the log levels)."""
    with stderr_held_back():  # cheap once loaded: both steps are cached
        import keras

        if keras.backend.backend() == "tensorflow":
            import tensorflow as tf

            tf.config.list_physical_devices("GPU")  # the cuInit line, on machines without a GPU


def backend_name() -> str:
    import keras

    return keras.backend.backend()


def current_device() -> str:
    """``gpu:<physical index>`` when a case runs on a GPU, ``cpu`` otherwise."""
    backend = backend_name()
    try:
        if backend == "tensorflow":
            import tensorflow as tf

            with stderr_held_back():  # the first call starts TensorFlow's runtime: the cuInit line, without a GPU
                on_gpu = bool(tf.config.list_logical_devices("GPU"))
        elif backend == "jax":
            import jax

            on_gpu = jax.devices()[0].platform != "cpu"
        elif backend == "torch":
            import torch

            on_gpu = torch.cuda.is_available()
        else:
            on_gpu = False
    except Exception:  # a broken driver must not break the report
        return "unknown"
    if not on_gpu:
        return "cpu"
    visible = [d for d in os.environ.get("CUDA_VISIBLE_DEVICES", "").split(",") if d.strip()]
    return f"gpu:{visible[0].strip()}" if len(visible) == 1 else "gpu:0"
