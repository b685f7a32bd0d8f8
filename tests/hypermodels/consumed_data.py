"""Search data whose state its use changes, and that the static data checks pass: a PyDataset that reads on from
where its last read stopped (a stream), a tf.data.Dataset made from one generator object. Each case fits on it
alone; a search's trials share one object, and the first trial uses it up. What the rehearsal of the search finds
(``tests/engine/test_rehearsal_data.py``) and a real KerasTuner search shows
(``tests/proofs/test_rehearsal_data_searches.py``); and their well-behaved twins, which stay green."""

import keras
import numpy as np
from keras import layers

#: Examples a batch; the stream holds ``STREAM_BATCHES`` of them, and one epoch reads ``EPOCH_BATCHES``.
BATCH = 8
EPOCH_BATCHES = 4
STREAM_BATCHES = 16


def build(hp):
    """A small regressor on 6 features: every value passes alone on any of the data here."""
    model = keras.Sequential([keras.Input((6,)), layers.Dense(hp.Int("units", 4, 8, step=4)), layers.Dense(1)])
    model.compile(loss="mse", optimizer="sgd")
    return model


def arrays(batches: int = STREAM_BATCHES) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    n = batches * BATCH
    return rng.normal(size=(n, 6)).astype("float32"), rng.normal(size=(n, 1)).astype("float32")


class Stream(keras.utils.PyDataset):
    """Reads the next batch of a stream on each ``__getitem__``, whatever the index (as a reader of a queue or a
    file does): its position moves on with each read, and a second fit starts where the first stopped."""

    def __init__(self, batches: int = STREAM_BATCHES, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = arrays(batches)
        self.position = 0

    def __len__(self) -> int:
        return EPOCH_BATCHES

    def __getitem__(self, index: int):
        start = self.position
        if start >= len(self.x):
            raise IndexError(f"the stream is used up at example {start}")
        self.position += BATCH
        return self.x[start : start + BATCH], self.y[start : start + BATCH]


class Indexed(keras.utils.PyDataset):
    """Stream's well-behaved twin: ``__getitem__(index)`` depends on the index alone, and it reshuffles each epoch."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.x, self.y = arrays()
        self.order = np.arange(EPOCH_BATCHES)

    def __len__(self) -> int:
        return EPOCH_BATCHES

    def __getitem__(self, index: int):
        start = int(self.order[index]) * BATCH
        return self.x[start : start + BATCH], self.y[start : start + BATCH]

    def on_epoch_end(self) -> None:
        self.order = np.random.default_rng(len(self.order)).permutation(self.order)


def one_generator(batches: int = 64):
    """A tf.data.Dataset from one generator object (``lambda: batches``): each iteration of the dataset goes on
    with the same generator, so the first trial's epoch uses it up. Its length is unknown to tf.data."""
    import tensorflow as tf

    x, y = arrays(batches)
    made = ((x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH))
    signature = (tf.TensorSpec((None, 6), "float32"), tf.TensorSpec((None, 1), "float32"))
    return tf.data.Dataset.from_generator(lambda: made, output_signature=signature)


def from_function(batches: int = 64):
    """one_generator's well-behaved twin: the dataset calls a function that makes a new generator each iteration."""
    import tensorflow as tf

    x, y = arrays(batches)

    def made():
        return ((x[i : i + BATCH], y[i : i + BATCH]) for i in range(0, len(x), BATCH))

    signature = (tf.TensorSpec((None, 6), "float32"), tf.TensorSpec((None, 1), "float32"))
    return tf.data.Dataset.from_generator(made, output_signature=signature)


def from_tensors():
    """A tf.data.Dataset of the arrays, batched: each fit iterates it afresh."""
    import tensorflow as tf

    return tf.data.Dataset.from_tensor_slices(arrays()).batch(BATCH)


#: The well-behaved twins, by what they are: each trial of a search gets them whole.
WELL_BEHAVED = {
    "a PyDataset read by index, reshuffled each epoch": Indexed,
    "a tf.data.Dataset from tensors": from_tensors,
    "a tf.data.Dataset of unknown length, from a generator function": from_function,
}
