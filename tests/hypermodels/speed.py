"""Models whose fits, not their builds, take a trial's time: a Dense net, a small conv net and an LSTM stack
(tests/test_timing.py, benchmarks/search_time.py: the search's time estimated against a real search's)."""


def dense_mlp(hp):
    import keras
    from keras import layers

    units = hp.Int("units", 16, 256, step=16)
    model = keras.Sequential([keras.Input((32,)), layers.Dense(units, activation="relu"),
                              layers.Dense(units, activation="relu"), layers.Dense(1)])
    model.compile(loss="mse", optimizer="adam")
    return model


def small_conv(hp):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((28, 28, 1))])
    for i in range(hp.Int("blocks", 1, 2)):
        model.add(layers.Conv2D(hp.Choice(f"filters_{i}", [8, 16]), 3, activation="relu", padding="same"))
        model.add(layers.MaxPooling2D())
    model.add(layers.Flatten())
    model.add(layers.Dense(10, activation="softmax"))
    model.compile(loss="sparse_categorical_crossentropy", optimizer="adam", metrics=["accuracy"])
    return model


def lstm_stack(hp):
    import keras
    from keras import layers

    model = keras.Sequential([keras.Input((20, 8)), layers.LSTM(hp.Int("units", 8, 64, step=8)), layers.Dense(1)])
    model.compile(loss="mse", optimizer=keras.optimizers.Adam(hp.Float("lr", 1e-4, 1e-2, sampling="log")))
    return model
