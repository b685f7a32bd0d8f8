"""Synthesize a small batch of training data from a model's own specs.

Nothing is downloaded: inputs follow the model's input shapes and dtypes
(dict inputs by name), targets follow each output's shape and loss (class ids
for sparse categorical losses, one-hot for categorical, 0/1 for binary,
floats otherwise). A user who needs real data overrides the
``hypermodel_data`` fixture instead.
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import keras
import numpy as np

from pytest_hypermodel.probe.search_data import Output


class DataError(ValueError):
    """The model does not say enough about its inputs to synthesize data for it."""


def declares_inputs(model: keras.Model) -> bool:
    """Whether the model says what its inputs are (a keras.Input, or a built model)."""
    try:
        _structure(model, "inputs")
    except (AttributeError, ValueError):
        return False
    return True


def _loss_kind(loss: Any) -> str:
    if loss is None:
        return "regression"
    name = (
        loss
        if isinstance(loss, str)
        else getattr(loss, "name", None) or getattr(loss, "__name__", None) or type(loss).__name__
    )
    key = str(name).lower().replace("_", "")
    if "sparsecategorical" in key:
        return "sparse"
    if "categorical" in key:
        return "onehot"
    if "binary" in key or "hinge" in key:
        return "binary"
    return "regression"


def _concrete(shape, fill: int = 8) -> tuple[int, ...]:
    return tuple(fill if dim is None else int(dim) for dim in shape[1:])


def _input(tensor, n: int, rng: np.random.Generator, vocab: int):
    shape = (n, *_concrete(tensor.shape))
    dtype = str(tensor.dtype)
    if "int" in dtype:
        return rng.integers(0, vocab, size=shape).astype(dtype)
    if "bool" in dtype:
        return rng.integers(0, 2, size=shape).astype(bool)
    return rng.normal(size=shape).astype("float32")


def _target(tensor, kind: str, n: int, rng: np.random.Generator):
    shape = _concrete(tensor.shape)
    classes = shape[-1] if shape else 1
    if kind == "sparse":
        return rng.integers(0, max(classes, 1), size=(n, *shape[:-1])).astype("int32")
    if kind == "onehot":
        ids = rng.integers(0, max(classes, 1), size=(n, *shape[:-1]))
        return np.eye(max(classes, 1), dtype="float32")[ids]
    if kind == "binary":
        return rng.integers(0, 2, size=(n, *shape)).astype("float32")
    return rng.random(size=(n, *shape)).astype("float32")


def _losses_per_output(model: keras.Model, outputs) -> Any:
    """The loss of each output, in the structure of the model's outputs."""
    loss = getattr(model, "loss", None)
    names = list(getattr(model, "output_names", None) or [])
    if isinstance(outputs, dict):
        if isinstance(loss, dict):
            return {key: loss.get(key) for key in outputs}
        if isinstance(loss, (list, tuple)):
            return dict(zip(outputs, loss))
        return {key: loss for key in outputs}
    if isinstance(outputs, (list, tuple)):
        if isinstance(loss, dict):
            return [loss.get(name) for name in names] if names else [None] * len(outputs)
        if isinstance(loss, (list, tuple)):
            return list(loss)
        return [loss] * len(outputs)
    if isinstance(loss, dict):
        return next(iter(loss.values()), None)
    if isinstance(loss, (list, tuple)):
        return loss[0] if loss else None
    return loss


def _structure(model: keras.Model, which: str) -> Any:
    """A functional model's inputs/outputs as declared (dict, list or one tensor)."""
    struct = getattr(model, f"_{which}_struct", None)
    if struct is not None:
        return struct
    tensors = getattr(model, which)  # Sequential: a list; raises if never built
    if not tensors:
        raise ValueError(f"no {which}")
    return tensors[0] if len(tensors) == 1 else list(tensors)


def synthesize(model: keras.Model, samples: int = 32, seed: int = 0, input_shapes=None) -> tuple[Any, Any]:
    """``(x, y)`` for ``samples`` examples, shaped like the model's inputs and outputs.

    A model that declares no input (a Sequential with no ``keras.Input``, as in the KerasTuner guides)
    takes its inputs from ``input_shapes`` (see ``probe.parse_input_shapes``), and its outputs' shapes
    from one call on them.
    """
    rng = np.random.default_rng(seed)
    vocab = min(
        (layer.input_dim for layer in model._flatten_layers() if isinstance(layer, keras.layers.Embedding)),
        default=2,
    )
    try:
        inputs, outputs = _structure(model, "inputs"), _structure(model, "outputs")
    except (AttributeError, ValueError) as exc:
        if not input_shapes:
            raise DataError(
                "the model declares no input shape, so no data can be synthesized for it: pass "
                "--hypermodel-input-shape (e.g. 28,28), start the model with keras.Input(shape=...), or override "
                "the hypermodel_data fixture in conftest.py"
            ) from exc
        x = _undeclared_inputs(model, input_shapes, samples, rng, vocab)
        called = model(keras.tree.map_structure(lambda a: a[:2], x))
        outputs = keras.tree.map_structure(lambda t: SimpleNamespace(shape=tuple(t.shape)), called)
    else:
        x = keras.tree.map_structure(lambda t: _input(t, samples, rng, vocab), inputs)
    losses = _losses_per_output(model, outputs)
    y: Any  # targets shaped as the outputs: a dict, a list, or one array
    if isinstance(outputs, dict):
        y = {key: _target(outputs[key], _loss_kind(losses.get(key)), samples, rng) for key in outputs}
    elif isinstance(outputs, (list, tuple)):
        y = [_target(t, _loss_kind(loss), samples, rng) for t, loss in zip(outputs, losses)]
    else:
        y = _target(outputs, _loss_kind(losses), samples, rng)
    return x, y


def _undeclared_inputs(model: keras.Model, input_shapes, samples: int, rng: np.random.Generator, vocab: int):
    """Inputs of the given shapes: token ids when the model starts with an Embedding, floats otherwise."""
    layers = getattr(model, "layers", None) or []
    tokens = bool(layers) and isinstance(layers[0], keras.layers.Embedding)
    dtype = "int32" if tokens else "float32"

    def make(shape):
        return _input(keras.KerasTensor((None, *shape), dtype=dtype), samples, rng, vocab)

    if isinstance(input_shapes, dict):
        return {name: make(shape) for name, shape in input_shapes.items()}
    arrays = [make(shape) for shape in input_shapes]
    return arrays[0] if len(arrays) == 1 else arrays


def describe_outputs(model: keras.Model) -> list[Output] | None:
    """The outputs of a built, compiled model, with their losses' kinds, as plain data (``search_data.Output``);
    None when the model says too little (no outputs yet, no loss)."""
    try:
        outputs = _structure(model, "outputs")
    except (AttributeError, ValueError):
        return None
    if getattr(model, "loss", None) is None:
        return None
    losses = _losses_per_output(model, outputs)
    names = list(getattr(model, "output_names", None) or [])

    def one(name: str, tensor: Any, loss: Any) -> Output:
        shape = tuple(int(d) if d is not None else None for d in tuple(tensor.shape)[1:])
        return Output(name, shape, _loss_kind(loss))

    if isinstance(outputs, dict):
        return [one(str(key), outputs[key], losses.get(key)) for key in outputs]
    if isinstance(outputs, (list, tuple)):
        names = names if len(names) == len(outputs) else [str(i) for i in range(len(outputs))]
        return [one(n, t, loss) for n, t, loss in zip(names, outputs, losses)]
    return [one(names[0] if names else "", outputs, losses)]


def built_outputs(hypermodel: Any, hp: Any) -> list[Output] | None:
    """The outputs of ``hypermodel``'s model built with ``hp`` (the defaults: discovery keeps no model), for
    checking the search's labels against them; None when the build fails here (the cases say so)."""
    try:
        keras.backend.clear_session()
        return describe_outputs(hypermodel.build(hp))
    except Exception:  # the cases say what fails
        return None


#: A search's data is cut to this many batches for a case's short fit (at least ``--hypermodel-samples`` examples).
BATCHES = 2


def examples_for(provided: Any, samples: int) -> int:
    """How many examples a case fits on: a few of the search's batches (``provided``: the search's arguments),
    and no fewer than the probe's samples."""
    return max(samples, BATCHES * batch_size(provided))


def batch_size(provided: Any) -> int:
    """The batch the search trains at: ``batch_size`` among the search's arguments, else Keras's default."""
    size = provided.get("batch_size") if isinstance(provided, dict) else None
    return size if isinstance(size, int) and size > 0 else 32


def search_size(provided: Any) -> tuple[int, int] | None:
    """One trial of the search: its ``epochs`` (Keras's default 1) and its training batches an epoch
    (``steps_per_epoch``, a dataset's known length, else the examples over ``batch_size``); None when the
    search's data is not given (synthesized, or made per case by a callable) or its length is unknown."""
    import math

    if provided is None or callable(provided):
        return None
    kwargs = provided if isinstance(provided, dict) else {"x": provided[0]}
    epochs, batches = kwargs.get("epochs", 1), kwargs.get("steps_per_epoch")
    if not isinstance(batches, int):
        x: Any = kwargs.get("x")
        if hasattr(x, "cardinality") and hasattr(x, "element_spec"):  # tf.data: its elements are batches
            batches = int(x.cardinality())  # negative: infinite or unknown
        else:
            first = next(iter(x.values()), None) if isinstance(x, dict) else x[0] if type(x) in (list, tuple) else x
            shape = getattr(first, "shape", None)
            batches = math.ceil(int(shape[0]) / batch_size(kwargs)) if shape is not None and len(shape) else None
    if not isinstance(epochs, int) or not isinstance(batches, int) or epochs <= 0 or batches <= 0:
        return None
    return epochs, batches


def cut(value: Any, n: int, as_given: bool = False) -> Any:
    """The first ``n`` examples of the search's ``x``, ``y`` or ``validation_data`` (arrays, and lists, tuples or
    dicts of them); a ``tf.data.Dataset``, batched already, keeps its first few batches. Anything else (a
    generator, a ``keras.utils.PyDataset``) is passed as it is. ``as_given`` (the rehearsal): a dataset whose
    length is not known (one from a generator, which may be iterable once) is passed as it is too, so that each
    trial uses what the trials before it left, as in the search."""
    if hasattr(value, "take") and hasattr(value, "element_spec"):  # tf.data: its elements are batches
        if as_given and not finite(value):
            return value
        return value.take(BATCHES)
    if isinstance(value, dict):
        return {key: cut(item, n, as_given) for key, item in value.items()}
    if type(value) in (list, tuple):
        return type(value)(cut(item, n, as_given) for item in value)
    shape = getattr(value, "shape", None)
    if shape is not None and len(shape) >= 1 and hasattr(value, "__getitem__"):
        return value[:n]
    return value


def finite(dataset: Any) -> bool:
    """Whether a ``tf.data.Dataset`` knows its length (``cardinality()`` >= 0): one made from tensors is, and is
    iterated afresh by each fit; one from a generator is not known, and may give each fit what the last one left."""
    try:
        return int(dataset.cardinality()) >= 0
    except Exception:  # a distributed dataset: not known
        return False


def shapes(value: Any) -> str:
    """``(64, 6)``, ``[(64, 6), (64, 3)]`` or ``{image: (64, 28, 28)}``: the shapes of the data a case fits on,
    for a message; ``?`` for what has none (a generator, a dataset)."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {shapes(item)}" for key, item in value.items()) + "}"
    if type(value) in (list, tuple):
        return "[" + ", ".join(shapes(item) for item in value) + "]"
    shape = getattr(value, "shape", None)
    return str(tuple(int(d) if d is not None else None for d in shape)) if shape is not None else "?"
