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
