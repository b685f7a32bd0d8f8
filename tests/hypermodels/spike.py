"""The getting-started guide's model at the configuration whose loss spikes, and the data it spikes on.

``units_0=512, dropout=True`` under Adam: at ``lr=0.01`` (the largest the guide's space holds) its loss goes from
about 2.5 to 8-12 over its first two batches of random 28x28 images with one-hot labels over 10 classes, then
comes back near 2.3 within a few more epochs: Adam's early spike on a wide layer, which a search's later batches
pass through. The learning rate stays tuned, so the defaults (``lr=1e-4``) are the reference it is judged against.
"""

import numpy as np

from tests.hypermodels.guides import build_model

#: What the guide's build_model is held to here: one Dense of 512, then Dropout (``hp.Fixed``).
SPIKING = {"num_layers": 1, "units_0": 512, "activation": "relu", "dropout": True}
#: The learning rate that spikes (the guide's largest).
SPIKING_LR = 0.01


def spiking_guide(hp):
    """The guide's build_model with everything but ``lr`` fixed at ``SPIKING``."""
    for name, value in SPIKING.items():
        hp.Fixed(name, value)
    return build_model(hp)


def spiking_data(n: int = 256, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random 28x28 images in [0, 1) and one-hot labels over 10 classes."""
    rng = np.random.RandomState(seed)
    x = rng.rand(n, 28, 28).astype("float32")
    y = np.eye(10, dtype="float32")[rng.randint(0, 10, n)]
    return x, y
