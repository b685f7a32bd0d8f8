"""The examples of the seed article on the runtime errors of search spaces, as published (keras for
tensorflow.keras, so that they run on every backend; no keras.Input, as there: ``input_shape=`` on the first
layer).

Example 2, "Learning Rate Instability": Adam with a learning rate chosen from 0.01, 0.1, 1.0 and 10.0; the
article says 10.0 can make the training diverge.
"""

import keras


def learning_rate_instability(hp):
    model = keras.Sequential([
        keras.layers.Dense(64, activation="relu", input_shape=(10,)),
        keras.layers.Dense(10, activation="softmax"),
    ])
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=hp.Choice("learning_rate",
                                                                          values=[0.01, 0.1, 1.0, 10.0])),
                  loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    return model


#: The seed article's example 2 (learning_rate_instability above) on the default settings (3 epochs of 32
#: synthesized samples), measured: TensorFlow's loss at 10.0 goes 2.38 -> 5571 -> 3400, JAX's 2.55 -> 13.1 -> 13.1
#: (its clipped cross-entropy saturates), PyTorch's 2.32 -> 13.6 -> 13.6; at 1.0 JAX's is the very same as at 10.0.
SEED_VERDICTS = {"defaults": "ok", "learning_rate=0.1": "ok", "learning_rate=1.0": "diverged",
                 "learning_rate=10.0": "diverged"}
