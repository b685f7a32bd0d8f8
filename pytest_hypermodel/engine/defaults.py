"""Each setting's default and the isolation modes: plain data, importing nothing.

Apart from :mod:`settings` (which reads and checks the values) so that the pytest plugin can register its options
and ini keys, with these defaults, without loading the engine: a pytest run that does not preflight pays nothing.
"""

from __future__ import annotations

from typing import Any

#: Where the user's code runs (see ``prober``): one persistent probe process, a fresh one per case, or the caller's.
ISOLATION_MODES = ("process", "case", "off")

#: Each setting's default, as the ini file would give it (text, as pytest's ini values are): the one place they live.
DEFAULTS: dict[str, Any] = {
    "hypermodel_strategy": "extremes,corners,interior",
    "hypermodel_strength": "",
    "hypermodel_levels": "2",
    "hypermodel_max_cases": "256",
    "hypermodel_plan": False,
    "hypermodel_epochs": "3",
    "hypermodel_samples": "32",
    "hypermodel_input_shape": [],
    "hypermodel_tuner": "RandomSearch",
    "hypermodel_max_trials": "",
    "hypermodel_max_abort_risk": "0.5",
    "hypermodel_report": "",
    "hypermodel_html": "",
    "hypermodel_boundaries": "on",
    "hypermodel_boundaries_seconds": "",
    "hypermodel_rehearsal": "on",
    "hypermodel_devices": "auto",
    "hypermodel_timeout": "",
    "hypermodel_isolation": "",
    "hypermodel_isolate": False,
    "hypermodel_memory_budget": "",
    "hypermodel_memory_growth": "4MiB",
    "hypermodel_max_model_size": "",
    "hypermodel_max_retries_per_trial": "0",
    "hypermodel_max_consecutive_failed_trials": "3",
    "hypermodel_on": [],
    "hypermodel_project": "",
    "hypermodel_objective": "",
    "hypermodel_search_data": "",
    "hypermodel_suppress_health_check": [],
}
