"""The pytest face's options: the names its users type (options, the marker's signature, the fixture) and the
reading of their values, shared by the plugin, the marker and the tests without importing each other.

Light at import (pytest and the defaults): the hooks module imports it on every pytest run, and the engine's
settings load only when a value is read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_hypermodel.engine.defaults import DEFAULTS

if TYPE_CHECKING:
    from pytest_hypermodel.engine import settings as settings_mod
    from pytest_hypermodel.rules import policy as policy_mod

HYPERMODEL_OPTION = "--hypermodel"
NO_HYPERMODEL_OPTION = "--no-hypermodel"
STRATEGY_OPTION = "--hypermodel-strategy"
STRENGTH_OPTION = "--hypermodel-strength"
LEVELS_OPTION = "--hypermodel-levels"
MAX_CASES_OPTION = "--hypermodel-max-cases"
PLAN_OPTION = "--hypermodel-plan"
TUNER_OPTION = "--hypermodel-tuner"
MAX_TRIALS_OPTION = "--hypermodel-max-trials"
MAX_ABORT_RISK_OPTION = "--hypermodel-max-abort-risk"
DEVICES_OPTION = "--hypermodel-devices"
TIMEOUT_OPTION = "--hypermodel-timeout"
ISOLATE_OPTION = "--hypermodel-isolate"
ISOLATION_OPTION = "--hypermodel-isolation"
EPOCHS_OPTION = "--hypermodel-epochs"
SAMPLES_OPTION = "--hypermodel-samples"
INPUT_SHAPE_OPTION = "--hypermodel-input-shape"
REPORT_OPTION = "--hypermodel-report"
HTML_OPTION = "--hypermodel-html"
MEMORY_BUDGET_OPTION = "--hypermodel-memory-budget"
MEMORY_GROWTH_OPTION = "--hypermodel-memory-growth"
MAX_MODEL_SIZE_OPTION = "--hypermodel-max-model-size"
MAX_RETRIES_OPTION = "--hypermodel-max-retries-per-trial"
MAX_CONSECUTIVE_OPTION = "--hypermodel-max-consecutive-failed-trials"
BOUNDARIES_OPTION = "--hypermodel-boundaries"
BOUNDARIES_SECONDS_OPTION = "--hypermodel-boundaries-seconds"
REHEARSAL_OPTION = "--hypermodel-rehearsal"
FIX_OPTION = "--hypermodel-fix"
PROJECT_OPTION = "--hypermodel-project"
OBJECTIVE_OPTION = "--hypermodel-objective"
SEARCH_DATA_OPTION = "--hypermodel-search-data"
SUPPRESS_HEALTH_CHECK_OPTION = "--hypermodel-suppress-health-check"

CASE_FIXTURE = "hypermodel_case"
MARKER = "search_space"
MARKER_SIGNATURE = (
    "search_space(build, *, strategy='extremes,corners,interior', strength=None, levels=2, max_cases=256, "
    "expect=(), policy=None)"
)

#: The settings, read once per pytest process.
SETTINGS_KEY = pytest.StashKey["settings_mod.Settings"]()


class ConfigSource:
    """Settings from pytest: the command line, else the ini file (``hypermodel_*``), else its default."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def given(self, name: str) -> Any:
        return self.config.getoption(name, None)

    def configured(self, name: str) -> Any:
        return self.config.getini(name)

    def where(self, name: str) -> str:
        """How the user wrote a setting: the flag when given on the command line, else the ini key."""
        if self.config.getoption(name, None) is not None:
            return "--" + name.replace("_", "-")
        return f"{name} (ini)"


def setting(config: pytest.Config, name: str) -> Any:
    from pytest_hypermodel.engine import settings as settings_mod

    return settings_mod.value(ConfigSource(config), name)


def preflight_settings(config: pytest.Config) -> settings_mod.Settings:
    """Every setting, read and checked once (cached on the config): a bad value is a usage error."""
    if SETTINGS_KEY not in config.stash:
        from pytest_hypermodel.engine import settings as settings_mod

        try:
            config.stash[SETTINGS_KEY] = settings_mod.read(ConfigSource(config))
        except settings_mod.SettingError as exc:
            raise pytest.UsageError(str(exc)) from None
    return config.stash[SETTINGS_KEY]


def check_settings(config: pytest.Config) -> None:
    """A bad value in the ini file or on the command line is a usage error on every run, preflight or not. When
    every setting is its default (nothing given), there is nothing to check, and the engine's settings stay
    unloaded."""
    source = ConfigSource(config)
    if all(source.given(name) is None and source.configured(name) == default for name, default in DEFAULTS.items()):
        return
    preflight_settings(config)


def policy_from_config(config: pytest.Config) -> policy_mod.Policy:
    """The policy the ini file and the command line describe."""
    return preflight_settings(config).policy


#: What ``--hypermodel-search-data`` returned, called once per pytest process.
SEARCH_DATA_KEY = pytest.StashKey[Any]()


def _search_data_label(config: pytest.Config) -> str:
    return SEARCH_DATA_OPTION if config.getoption("hypermodel_search_data", None) else "hypermodel_search_data (ini)"


def check_search_data(config: pytest.Config) -> None:
    """A mistyped ``--hypermodel-search-data`` (its form, a missing file), told before anything is imported."""
    text = str(setting(config, "hypermodel_search_data") or "")
    location, sep, name = text.strip().rpartition(":")
    if not text:
        return
    if not sep or not location or not name.isidentifier():
        raise pytest.UsageError(
            f"{_search_data_label(config)} {text}: write path/to/file.py:callable or package.module:callable"
        )
    if (location.endswith(".py") or "/" in location) and not (config.rootpath / location).is_file():
        raise pytest.UsageError(f"{_search_data_label(config)} {text}: no file {config.rootpath / location}")


def search_data(config: pytest.Config) -> Any:
    """What the ``--hypermodel-search-data`` callable returns (the arguments of ``tuner.search``), or None; a
    callable that cannot be had or raises fails the case with one line."""
    text = setting(config, "hypermodel_search_data")
    if not text:
        return None
    if SEARCH_DATA_KEY not in config.stash:
        from pytest_hypermodel.space import target as target_mod

        label, failure = _search_data_label(config), None
        try:
            config.stash[SEARCH_DATA_KEY] = target_mod.load_callable(str(text), config.rootpath, label)()
        except target_mod.SpecError as exc:
            failure = str(exc)
        except Exception as exc:
            failure = f"{label} {text}: calling it raised {type(exc).__name__}: {exc}"
        if failure is not None:
            pytest.fail(failure, pytrace=False)
    return config.stash[SEARCH_DATA_KEY]


def probe_settings(config: pytest.Config):
    """Each case's short fit (epochs, samples, input shapes), from the command line or the ini (the marker reads
    them too)."""
    return preflight_settings(config).probe
