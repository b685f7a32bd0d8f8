"""The search's data and arguments, examined as ``tuner.search`` will take them, before the probe cuts them.

A case fits a few batches of the search's data; the search itself runs every trial on the same objects, for its
epochs and steps. What breaks there whatever the hyperparameters' values is found here, on the objects as the user
gave them (``--hypermodel-search-data``, ``preflight(x, y, ...)``, the ``hypermodel_data`` fixture), each as one
health finding with its fix:

- ``data_used_up``: an object that can be iterated once (a generator, an iterator): the first trial uses it up.
- ``data_too_short``: a finite dataset shorter than ``steps_per_epoch`` times ``epochs``: Keras warns "Your input
  ran out of data" and cuts the epoch short.
- ``data_arguments``: arguments Keras's ``fit`` rejects for that kind of data (its data adapters' rules).
- ``labels_outside_outputs``: labels the model's outputs and loss cannot take (class ids past the output's units,
  one-hot labels of another width, binary labels outside [0, 1]).

Runs where the data is (the pytest process, the API's caller): it only looks at the objects (their types, their
shapes, a dataset's known length, one batch of a re-iterable dataset) and never iterates what can be iterated once.
Keras and TensorFlow are not imported here: a dataset's own methods are called only when the user made one. The
model's outputs are described in the probe process (``data.default_outputs``), as plain data.
"""

from __future__ import annotations

import math
import types
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_hypermodel.rules.evidence import USED_UP_FIX
from pytest_hypermodel.space.words import plural

#: The arguments of ``tuner.search`` that carry data (the rest are ``fit``'s settings).
DATA_ARGUMENTS = ("x", "y", "validation_data", "sample_weight")


@dataclass(frozen=True)
class Issue:
    """One thing wrong with the search's data: its health check's name, what was found, and the fix."""

    check: str
    message: str
    fix: str


@dataclass(frozen=True)
class Output:
    """One output of the default model: its name, its shape (without the batch), and its loss's kind
    (``probe.data``'s: ``sparse``, ``onehot``, ``binary`` or ``regression``)."""

    name: str
    shape: tuple[int | None, ...]
    loss: str

    @property
    def units(self) -> int | None:
        return self.shape[-1] if self.shape else 1


# ------------------------------------------------------------------------------------------- what a thing is


def _class_names(value: Any) -> list[tuple[str, str]]:
    return [(c.__name__, str(c.__module__)) for c in type(value).__mro__]


def is_tf_dataset(value: Any) -> bool:
    """A ``tf.data.Dataset``, told as Keras tells it (``data_adapters.is_tf_dataset``), without importing TF."""
    return any(
        name in ("DatasetV2", "DistributedDataset", "DistributedDatasetsFromFunction") and "tensorflow.python." in mod
        for name, mod in _class_names(value)
    )


def is_py_dataset(value: Any) -> bool:
    """A ``keras.utils.PyDataset`` (or the older ``Sequence``, its alias)."""
    return any(name in ("PyDataset", "Sequence") and mod.startswith("keras") for name, mod in _class_names(value))


def _is_torch_or_grain(value: Any) -> bool:
    return any(
        (name == "DataLoader" and "torch.utils.data" in mod)
        or (name in ("MapDataset", "IterDataset", "DataLoader") and "grain" in mod)
        for name, mod in _class_names(value)
    )


def once_iterable(value: Any) -> bool:
    """Whether ``value`` can be iterated only once: its ``iter()`` is itself (a generator, an iterator, a file).
    Told from the type alone: nothing is iterated."""
    if isinstance(value, types.GeneratorType):
        return True
    if isinstance(value, (str, bytes, Mapping)) or hasattr(value, "shape") or is_tf_dataset(value):
        return False
    cls = type(value)
    return hasattr(cls, "__next__") and getattr(cls, "__iter__", None) is not None and _iter_is_self(value)


def _iter_is_self(value: Any) -> bool:
    try:
        return iter(value) is value  # an iterator's __iter__ returns itself without consuming anything
    except TypeError:
        return False


def kind_of(value: Any) -> str:
    """What Keras's ``fit`` makes of ``value`` as ``x``: ``arrays``, ``dataset`` (tf.data), ``PyDataset``,
    ``generator``, ``loader`` (torch, grain), ``iterator`` (which Keras does not take), or ``other``."""
    if is_tf_dataset(value):
        return "dataset"
    if is_py_dataset(value):
        return "PyDataset"
    if isinstance(value, types.GeneratorType):
        return "generator"
    if _is_torch_or_grain(value):
        return "loader"
    if once_iterable(value):
        return "iterator"
    if _arrays(value):
        return "arrays"
    return "other"


def _arrays(value: Any) -> bool:
    """Arrays, or lists, tuples and dicts of them (what Keras's ArrayDataAdapter slices)."""
    if isinstance(value, Mapping):
        return bool(value) and all(_arrays(v) for v in value.values())
    if type(value) in (list, tuple):
        return bool(value) and all(_arrays(v) or v is None for v in value)
    shape = getattr(value, "shape", None)
    return shape is not None and hasattr(value, "__getitem__") and not is_tf_dataset(value)


#: The kinds whose state using them can change: what a trial does to one of them, the next trial meets.
CONSUMABLE_KINDS = ("dataset", "PyDataset", "generator", "loader", "iterator")


def consumable(provided: Any) -> bool:
    """Whether the search's data ``provided`` (the ``hypermodel_data`` forms) holds an object that a fit may change
    by using it (its ``x`` or ``validation_data`` a dataset, a PyDataset, a generator...): each trial of the search
    gets that same object in the state the trials before it left."""
    kwargs = search_arguments(provided)
    if kwargs is None:
        return False
    return any(kind_of(kwargs.get(name)) in CONSUMABLE_KINDS for name in ("x", "validation_data"))


def afresh(provided: Any) -> Any:
    """``provided`` for one use in this process: its consumable objects copied (``copy.deepcopy``), so that a case
    or the rehearsal gets them as the user gave them, not as an earlier case left them; as it is where they cannot
    be copied (a generator, a tf.data.Dataset), or hold nothing consumable."""
    import copy

    kwargs = search_arguments(provided)
    if kwargs is None or not consumable(provided):
        return provided
    copied = dict(kwargs)
    for name in ("x", "validation_data"):
        if kind_of(copied.get(name)) in ("PyDataset", "loader"):
            try:
                copied[name] = copy.deepcopy(copied[name])
            except Exception:  # holds a generator, a lock, a file: as it is
                return provided
    if isinstance(provided, Mapping):
        made: Any = copy.copy(provided)  # a dict of its own class, with its attributes (own_search's keywords)
        for name in ("x", "validation_data"):
            if name in made:
                made[name] = copied[name]
        return made
    return (copied["x"], copied["y"])


def described(provided: Any) -> str:
    """``x (a keras.utils.PyDataset, Stream)``: the search's consumable data, for a message; ``""`` for none."""
    kwargs = search_arguments(provided) or {}
    for name in ("x", "validation_data"):
        value = kwargs.get(name)
        kind = kind_of(value)
        if kind in CONSUMABLE_KINDS:  # a dataset's class is tf.data's own (_FlatMapDataset): not named
            named = "" if kind == "dataset" else f", {type(value).__name__}"
            return f"{name} ({KIND_TEXT[kind]}{named})"
    return ""


#: How each kind reads in a message.
KIND_TEXT = {
    "dataset": "a tf.data.Dataset",
    "PyDataset": "a keras.utils.PyDataset",
    "generator": "a generator",
    "loader": "a data loader",
    "iterator": "an iterator",
}


# ------------------------------------------------------------------------------------------- the search's arguments


def search_arguments(provided: Any) -> dict[str, Any] | None:
    """The arguments ``tuner.search`` gets, in ``fit``'s names, from the ``hypermodel_data`` forms: ``(x, y)`` or a
    dict of the search's arguments; None for synthesized data or a callable (the data is made per case)."""
    if provided is None or callable(provided):
        return None
    if isinstance(provided, Mapping):
        return dict(provided)
    if type(provided) in (list, tuple) and len(provided) == 2:
        return {"x": provided[0], "y": provided[1]}
    return None


def examine(provided: Any, outputs: list[Output] | None = None, max_epochs: int | None = None) -> list[Issue]:
    """Every issue of the search's data ``provided`` (the ``hypermodel_data`` forms), in the order the search would
    meet them; ``outputs``: the default model's outputs, for the labels (None: not known, not checked);
    ``max_epochs``: Hyperband's, which sets each trial's epochs (up to it) whatever the search's ``epochs``."""
    kwargs = search_arguments(provided)
    if kwargs is None:
        return []
    issues = _used_up(kwargs)
    issues += _rejected(kwargs)
    issues += _too_short(kwargs, max_epochs)
    if outputs and not issues:  # labels read from data that fit would take
        issues += _labels(kwargs, outputs)
    return issues


def _used_up(kwargs: Mapping[str, Any]) -> list[Issue]:
    found = []
    for name in ("x", "validation_data"):
        value = kwargs.get(name)
        if value is None or not once_iterable(value):
            continue
        kind = "generator" if isinstance(value, types.GeneratorType) else "iterator"
        named = "" if type(value).__name__ == kind else f" ({type(value).__name__})"
        what = f"{name} is {KIND_TEXT[kind]}{named}, which can be iterated once"
        if kind == "generator":
            later = (
                "the search's first trial uses it up, and every later trial gets none"
                + (" (Keras: 'Received an empty generator')" if name == "x" else " to validate on")
                + ": KerasTuner marks them failed and stops the search"
            )
        else:
            later = (
                "Keras's fit takes no iterator but a generator (ValueError: Unrecognized data type), and one "
                "the first trial took would be used up for the rest"
            )
        found.append(Issue("data_used_up", f"{what}: {later}", USED_UP_FIX))
    return found


def _rejected(kwargs: Mapping[str, Any]) -> list[Issue]:
    """The combinations Keras's ``fit`` raises a ValueError for (``trainers/data_adapters.get_data_adapter``, the
    trainer's ``validation_split``), each said with Keras's own reason."""
    x = kwargs.get("x")
    kind = kind_of(x)
    found = []
    if kind in ("dataset", "PyDataset", "generator", "loader"):
        text = KIND_TEXT[kind]
        for name, holds in (("y", "its targets"), ("sample_weight", "its sample weights")):
            if kwargs.get(name) is not None:
                found.append(
                    Issue(
                        "data_arguments",
                        f"x is {text} and {name}= is given too: Keras's fit raises ValueError "
                        f"(with x as {text}, {name} should not be passed) in every trial",
                        f"drop {name}= and make {text} yield {holds} with the inputs: (inputs, targets"
                        + (", sample_weights)" if name == "sample_weight" else ")"),
                    )
                )
        if kwargs.get("class_weight") is not None and kind in ("generator", "loader"):
            found.append(
                Issue(
                    "data_arguments",
                    f"x is {text} and class_weight= is given: Keras's fit raises ValueError (class_weight is not "
                    f"supported for {text}) in every trial",
                    "pass the data as arrays, a tf.data.Dataset or a PyDataset, or yield sample weights instead",
                )
            )
    if kwargs.get("validation_split") and kwargs.get("validation_data") is None and kind not in ("arrays", "other"):
        text = KIND_TEXT.get(kind, kind)
        found.append(
            Issue(
                "data_arguments",
                f"validation_split={kwargs['validation_split']} with x as {text}: Keras's fit raises ValueError "
                "(validation_split is only supported for tensors or NumPy arrays) in every trial",
                "pass validation_data= (a dataset of its own, e.g. dataset.take(n) and dataset.skip(n)) instead "
                "of validation_split",
            )
        )
    return found


def known_batches(value: Any, batch_size: int | None) -> int | None:
    """The batches one pass over ``value`` gives, as Keras's data adapters count them; None when not known (an
    infinite or unknown tf.data cardinality, a PyDataset without a length, a generator)."""
    kind = kind_of(value)
    if kind == "dataset":
        try:
            batches = int(value.cardinality())
        except Exception:  # a distributed dataset, a cardinality that fails: not known
            return None
        return batches if batches >= 0 else None
    if kind == "PyDataset":
        try:
            batches = value.num_batches
        except Exception:  # NotImplementedError: neither __len__ nor num_batches
            return None
        return batches if isinstance(batches, int) and batches >= 0 else None
    if kind == "arrays" and batch_size:
        examples = _examples(value)
        return math.ceil(examples / batch_size) if examples is not None else None
    return None


def _examples(value: Any) -> int | None:
    if isinstance(value, Mapping):
        value = next(iter(value.values()), None)
    elif type(value) in (list, tuple):
        value = value[0] if value else None
    shape = getattr(value, "shape", None)
    return int(shape[0]) if shape is not None and len(shape) and shape[0] is not None else None


def steps_run(batches: int, steps_per_epoch: int, epochs: int) -> int:
    """The training steps Keras runs over a finite dataset of ``batches`` with ``steps_per_epoch`` for ``epochs``
    (``trainers.epoch_iterator``): with steps_per_epoch the iterator runs on across epochs, an epoch that meets
    the data's end stops there ("Your input ran out of data"), and the next starts the data again."""
    seen, ran = 0, 0
    for _ in range(epochs):
        for _ in range(steps_per_epoch):
            if seen >= batches:
                break
            seen += 1
            ran += 1
        if seen >= batches:
            seen = 0
    return ran


def _too_short(kwargs: Mapping[str, Any], max_epochs: int | None = None) -> list[Issue]:
    epochs = max_epochs or kwargs.get("epochs", 1)
    if not isinstance(epochs, int) or epochs < 1:
        return []
    epochs_text = f"epochs={epochs}" + (
        " (Hyperband's max_epochs: its longest trials run that many)" if max_epochs else ""
    )
    found = []
    batch_size = kwargs.get("batch_size")
    for data, steps_name, label in (("x", "steps_per_epoch", "x"), ("validation_data", "validation_steps", "val")):
        steps = kwargs.get(steps_name)
        value = kwargs.get(data)
        if not isinstance(steps, int) or steps < 1 or value is None:
            continue
        if data == "validation_data" and type(value) in (list, tuple):
            value = value[0]
        size = batch_size if data == "x" else kwargs.get("validation_batch_size") or batch_size
        # Arrays with steps and no batch_size: Keras sizes the batch to the steps (ceil(examples / steps)).
        batches = known_batches(value, size if isinstance(size, int) else None)
        if batches is None or batches == 0:
            continue
        asked = steps * epochs
        # Validation starts its data again each epoch (evaluate resets its iterator); training runs on across them.
        ran = steps_run(batches, steps, epochs) if data == "x" else min(steps, batches) * epochs
        if ran >= asked:
            continue
        text = KIND_TEXT.get(kind_of(value), "arrays")
        fix = (
            "call .repeat() on the dataset (Keras then takes steps_per_epoch batches an epoch)"
            if kind_of(value) == "dataset"
            else "make the data long enough"
        ) + f", or lower {steps_name} to {batches} or less"
        found.append(
            Issue(
                "data_too_short",
                f"{data} ({text}) holds {plural(batches, 'batch', 'batches')} and each trial asks "
                f"{steps_name}={steps} for "
                f"{epochs_text}: Keras runs {ran} of the {asked} {'training' if label == 'x' else 'validation'} "
                "steps asked, warning 'Your input ran out of data' and cutting the epochs short",
                fix,
            )
        )
    return found


# ------------------------------------------------------------------------------------------- labels


def _first_labels(kwargs: Mapping[str, Any]) -> list[tuple[str, Any]]:
    """The labels to check, named for the message: ``y`` as given, one batch of a re-iterable dataset's, and the
    validation data's; each as the structure ``fit`` gets (an array, a list or a dict of them)."""
    found: list[tuple[str, Any]] = []
    x, y = kwargs.get("x"), kwargs.get("y")
    if y is not None:
        found.append(("y", y))
    elif kind_of(x) in ("dataset", "PyDataset"):
        batch = _one_batch(x)
        if batch is not None:
            found.append(("x's labels (its first batch)", batch))
    validation = kwargs.get("validation_data")
    if isinstance(validation, (list, tuple)) and len(validation) >= 2 and validation[1] is not None:
        found.append(("validation_data's labels", validation[1]))
    elif kind_of(validation) in ("dataset", "PyDataset"):
        batch = _one_batch(validation)
        if batch is not None:
            found.append(("validation_data's labels (its first batch)", batch))
    return found


def _one_batch(dataset: Any) -> Any:
    """The labels of a dataset's first batch (its second element), or None: a tf.data.Dataset is iterated afresh
    (``take(1)``), a copy of a PyDataset indexed (reading one may move it on: a stream's position), none where it
    cannot be copied."""
    import copy

    try:
        batch = next(iter(dataset.take(1))) if is_tf_dataset(dataset) else copy.deepcopy(dataset)[0]
    except Exception:  # an empty dataset, a failing __getitem__: the cases say so
        return None
    if type(batch) in (list, tuple) and len(batch) >= 2:
        return batch[1]
    return None


def _per_output(labels: Any, outputs: list[Output]) -> list[tuple[Output, Any]]:
    if isinstance(labels, Mapping):
        return [(o, labels[o.name]) for o in outputs if o.name in labels]
    if len(outputs) > 1:
        return list(zip(outputs, labels)) if type(labels) in (list, tuple) and len(labels) == len(outputs) else []
    if type(labels) in (list, tuple) and len(labels) == 1 and hasattr(labels[0], "shape"):
        return [(outputs[0], labels[0])]  # one output's labels in a list
    return [(outputs[0], labels)]  # an array, or a plain list of labels


def _numpy(value: Any) -> Any:
    import numpy as np

    try:
        return np.asarray(value)
    except Exception:  # a ragged structure, a sparse tensor: not checked
        return None


def _labels(kwargs: Mapping[str, Any], outputs: list[Output]) -> list[Issue]:
    found = []
    for where, labels in _first_labels(kwargs):
        for output, given in _per_output(labels, outputs):
            issue = label_issue(output, _numpy(given), where + (f"[{output.name!r}]" if len(outputs) > 1 else ""))
            if issue is not None:
                found.append(issue)
    return found


def label_issue(output: Output, labels: Any, where: str) -> Issue | None:
    """What the output's loss cannot take of ``labels`` (an array), as Keras would fail on it or take it wrongly."""
    if labels is None or labels.size == 0 or labels.dtype.kind not in "biuf":
        return None
    units, shape = output.units, output.shape
    low, high = labels.min(), labels.max()
    name = f"the output {output.name!r}" if output.name else "the output"
    if output.loss == "sparse" and units:
        if labels.ndim == len(shape) + 1 and labels.shape[-1] == units and units > 1:
            return Issue(
                "labels_outside_outputs",
                f"{where} has shape {tuple(labels.shape)}, one-hot for {name}'s {units} units, and its loss is "
                "sparse categorical crossentropy, which takes class ids: Keras's loss fails on the shapes in "
                "every trial",
                "compile with categorical_crossentropy, or pass the class ids (labels.argmax(-1))",
            )
        if low < 0 or high >= units:
            return Issue(
                "labels_outside_outputs",
                f"{where} holds class ids from {_number(low)} to {_number(high)}, and {name} has {units} units "
                f"(classes 0 to {units - 1}) for its sparse categorical crossentropy: every trial fails on a label "
                "outside [0, units)",
                f"give the output as many units as there are classes ({_number(high) + 1} or more), or map the "
                f"labels to 0..{units - 1}",
            )
    if output.loss == "onehot" and units and labels.ndim >= 1:
        width = labels.shape[-1] if labels.ndim == len(shape) + 1 else 1
        if width != units:
            return Issue(
                "labels_outside_outputs",
                f"{where} has shape {tuple(labels.shape)} and {name} {units} units for its categorical "
                f"crossentropy, which takes one-hot labels {units} wide: Keras's loss fails on the shapes in every "
                "trial",
                "pass one-hot labels (keras.utils.to_categorical(y, units)), or compile with "
                "sparse_categorical_crossentropy for class ids",
            )
    if output.loss == "binary" and (low < 0 or high > 1):
        return Issue(
            "labels_outside_outputs",
            f"{where} holds values from {_number(low)} to {_number(high)}, and {name}'s loss is binary "
            "crossentropy, which takes labels in [0, 1]: the trials train on a meaningless loss",
            "map the labels to 0 and 1, or use a loss for several classes (sparse_categorical_crossentropy with as "
            "many units as classes)",
        )
    return None


def _number(value: Any) -> Any:
    number = float(value)
    return int(number) if number.is_integer() else number
