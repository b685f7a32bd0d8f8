"""KerasTuner's distributed mode (``KERASTUNER_TUNER_ID``, ``KERASTUNER_ORACLE_IP``, ``KERASTUNER_ORACLE_PORT``), as
the search command runs it: the chief serves the oracle until the workers are done, each worker runs trials.

Start the workers first, or at least before any trial can end: KerasTuner's chief exits once every tuner it has
heard of is done, and a worker it never heard of then waits on it for an hour. KerasTuner's own modules are imported
only when the chief serves.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

#: How long the chief keeps serving after its last worker was told to stop.
CHIEF_GRACE_S = 3.0


@contextlib.contextmanager
def chief_answers_last_worker(grace: float = CHIEF_GRACE_S) -> Iterator[None]:
    """Keep KerasTuner's oracle server up ``grace`` seconds after its last worker was told to stop.

    The chief's server stops once ``oracle_chief.exit_chief`` holds, and that
    holds as soon as the last worker's final ``CreateTrial`` has removed it
    from the oracle, before that request's answer is sent: the chief could
    exit first, and the worker died on "Stream removed (Socket closed)"
    (seen in CI). Nothing can change the condition once it holds, so waiting
    after it costs only the grace.
    """
    from keras_tuner.src.distribute import oracle_chief

    exit_chief = oracle_chief.exit_chief

    def exit_after_grace(oracle: Any) -> bool:
        if not exit_chief(oracle):
            return False
        time.sleep(grace)
        return True

    oracle_chief.exit_chief = exit_after_grace
    try:
        yield
    finally:
        oracle_chief.exit_chief = exit_chief


def _is_rpc_error(exc: BaseException) -> bool:
    """A gRPC error from the oracle client (grpc is imported only in distributed mode)."""
    return any(cls.__module__.startswith("grpc") for cls in type(exc).__mro__)
