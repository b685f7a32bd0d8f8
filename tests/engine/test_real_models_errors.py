"""An error inside a layer's call() is reported as the error Keras wrapped, not its argument dump."""

from __future__ import annotations


def test_the_message_is_the_error_keras_wrapped_not_its_argument_dump():
    """An error inside a layer's call() reaches the user as Keras's wrapper; the message names what went wrong."""
    import keras
    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    from pytest_hypermodel.probe import fit as probe
    from pytest_hypermodel.probe.discovery import discover
    from pytest_hypermodel.space import plan

    class CreatesVariablesInCall(keras.layers.Layer):  # what KerasTuner's RandAugment does under Keras 3
        def call(self, inputs):
            raise ValueError(
                "tf.function only supports singleton tf.Variables created on the first call.\n"
                "Make sure the tf.Variable is only created once"
            )

    def build(hp):
        layers = [keras.Input((4,)), keras.layers.Dense(hp.Int("units", 1, 2))]
        model = keras.Sequential(layers + ([CreatesVariablesInCall()] if hp.get("units") == 2 else []))
        model.compile(loss="mse")
        return model

    hypermodel = DefaultHyperModel(build)
    space = discover(hypermodel)
    [case] = [c for c in plan.cases(space) if c.values == {"units": 2}]
    result = probe.run(hypermodel, space, case, settings=probe.FitSettings(epochs=1, samples=4))
    assert result.outcome == "error" and result.exception in ("ValueError", "RuntimeError")  # RuntimeError: Keras 3.1
    assert result.message == "tf.function only supports singleton tf.Variables created on the first call"
    assert "Arguments received by" in result.traceback  # the whole text is kept for -v
    assert (
        probe.meaningful_line("Model too large! It contains 1261 params.") == "Model too large! It contains 1261 params"
    )
    assert (
        probe.meaningful_line("Graph execution error:\n\nDetected at node foo\nIncompatible shapes: [32,10] vs. [32,1]")
        == "Incompatible shapes: [32,10] vs. [32,1]"
    )
