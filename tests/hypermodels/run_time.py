"""KerasTuner's own test model whose subclass declares a hyperparameter in ``call()`` (keras-tuner's
``tuner_test.build_subclass_model``): no keras.Input, so it runs first on the search's data."""

import keras

NUM_CLASSES, INPUT_DIM = 3, 2


def build_subclass_model(hp):
    class MyModel(keras.Model):
        def build(self, _):
            self.layer = keras.layers.Dense(NUM_CLASSES, activation="softmax")

        def call(self, x):
            x = x + hp.Float("bias", 0, 10)
            return self.layer(x)

        def get_config(self):
            return {}

    model = MyModel()
    model.compile(
        optimizer=keras.optimizers.Adam(hp.Choice("learning_rate", [1e-2, 1e-3, 1e-4])),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    return model
