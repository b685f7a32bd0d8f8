"""The command line of ``python -m pytest_hypermodel search SPEC --report preflight.json``: its arguments, and
``main``, which parses them and hands them to the search run (``run``).

The options are parsed before anything heavy is imported, so ``--help`` and
usage errors answer at once; TensorFlow's start-up chatter is silenced the
way the plugin silences it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable

TUNERS = ("GridSearch", "RandomSearch", "BayesianOptimization", "Hyperband")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``search`` subcommand's options."""
    parser.add_argument(
        "spec", metavar="SPEC", help="path/to/file.py:name, package.module:name, or a name in conftest.py"
    )
    parser.add_argument(
        "--report",
        required=True,
        metavar="PATH",
        help="the preflight's JSON report (pytest --hypermodel SPEC --hypermodel-report PATH)",
    )
    parser.add_argument("--tuner", choices=TUNERS, default="GridSearch", help="KerasTuner tuner (default: GridSearch)")
    parser.add_argument("--objective", default="val_loss", help="KerasTuner objective (default: val_loss)")
    parser.add_argument("--max-trials", type=int, metavar="N", help="trials to run (not for Hyperband)")
    parser.add_argument("--epochs", type=int, metavar="N", help="epochs per trial (Hyperband: max_epochs; default 1)")
    parser.add_argument(
        "--samples",
        type=int,
        default=32,
        metavar="N",
        help="examples of synthesized data, without --data (default: 32)",
    )
    parser.add_argument("--seed", type=int, help="the oracle's seed")
    parser.add_argument(
        "--directory",
        default="hypermodel_search",
        metavar="DIR",
        help="KerasTuner's directory (default: hypermodel_search)",
    )
    parser.add_argument("--project-name", metavar="NAME", help="KerasTuner's project_name (default: the SPEC's name)")
    parser.add_argument(
        "--overwrite",
        action="store_true",
        help="start afresh instead of resuming the project (without it, a project whose "
        "oracle.json holds another search space is refused)",
    )
    parser.add_argument(
        "--data",
        metavar="MODULE:CALLABLE",
        help="a callable returning (x, y) or a dict of tuner.search's keyword arguments "
        "(x, y, validation_data, epochs, batch_size, callbacks...), as for the preflight's "
        "--hypermodel-search-data",
    )
    parser.add_argument(
        "--synthesize",
        action="store_true",
        help="without --data: search on data synthesized from the default model (--samples "
        "examples; a smoke run of the search itself, never the default)",
    )
    parser.add_argument(
        "--verbose",
        type=int,
        default=1,
        choices=(0, 1, 2),
        help="search(verbose=...): the trial display and model.fit; 0 also hides "
        "KerasTuner's traceback of each failed trial (default: 1)",
    )
    group = parser.add_argument_group("policy (as the preflight's --hypermodel-* options; it must be the same)")
    group.add_argument("--max-retries-per-trial", type=int, default=0, metavar="N")
    group.add_argument("--max-consecutive-failed-trials", type=int, default=3, metavar="N")
    group.add_argument("--max-model-size", type=int, metavar="PARAMS")
    group.add_argument("--memory-budget", metavar="SIZE", help="as --hypermodel-memory-budget (part of the policy)")
    group.add_argument(
        "--on",
        action="append",
        default=[],
        metavar="NAME=ACTION",
        help="NAME (exception class or outcome) = fail_trial|retry|fatal; repeatable",
    )


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m pytest_hypermodel",
        description="Run a KerasTuner search under the policy its green preflight was judged by.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    search = commands.add_parser(
        "search",
        help="run the search of SPEC, refusing unless --report holds a green preflight of the same space and policy",
        description="Run the KerasTuner search of SPEC under the policy given by the flags. Refuses (exit 2) unless "
        "the preflight's JSON report (pytest --hypermodel SPEC --hypermodel-report PATH) holds a complete, green "
        "preflight of the same search space under the same policy. Exit 1 when KerasTuner aborts the search. "
        "KerasTuner's distributed mode (KERASTUNER_TUNER_ID, KERASTUNER_ORACLE_IP, KERASTUNER_ORACLE_PORT) works "
        "as with any tuner: run the same command on the chief and on each worker, the workers first (KerasTuner's "
        "chief exits once the tuners it has heard from are done; a later worker would wait on it).",
    )
    add_arguments(search)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse the command line (``sys.argv`` without ``argv``), then run the search. Returns the exit status."""
    command = parser()
    args = command.parse_args(argv)
    args.given = given(command, sys.argv[1:] if argv is None else argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    return _import_run()(args)


_UNSET = object()


def given(command: argparse.ArgumentParser, argv: list[str]) -> set[str]:
    """The options on the command line (their ``dest``), told from the defaults: a SPEC that names a tuner
    refuses the flags its tuner sets itself."""
    commands = next(a for a in command._actions if isinstance(a, argparse._SubParsersAction))
    search = commands.choices["search"]
    unset = argparse.Namespace(**{a.dest: _UNSET for a in search._actions if a.dest != "help"})
    parsed = search.parse_args(argv[argv.index("search") + 1 :] if "search" in argv else argv, namespace=unset)
    return {dest for dest, value in vars(parsed).items() if value is not _UNSET}


def _import_run() -> Callable[[argparse.Namespace], int]:
    """Import the search run (and so TensorFlow) with its start-up lines held back: they would bury the one
    line a refusal prints."""
    from pytest_hypermodel.probe.devices import stderr_held_back

    with stderr_held_back():
        from pytest_hypermodel.search.run import run
    return run
