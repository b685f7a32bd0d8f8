"""MkDocs hook: reference tables generated from the code at build time, so the reference cannot drift.

- ``<!-- generated: options -->``: every ``--hypermodel-*`` option, from ``plugin.pytest_addoption`` run
  against a real pytest ``Parser``, with its ini twin, default and help text; then the ini-only keys.
- ``<!-- generated: search -->``: the ``search`` command's arguments, from its argparse parser.
- ``changelog.md``: CHANGELOG.md from the repository root, as a page.

The renderers are plain functions (``options_markdown``, ``search_markdown``) that tests/unit/test_docs.py calls too.
"""

from __future__ import annotations

import argparse
import os
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = re.compile(r"\s*\(default: (?P<value>[^()]*(?:\([^()]*\)[^()]*)*)\)\s*$")


def _cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _split_default(help_text: str) -> tuple[str, str | None]:
    """The help text without its trailing "(default: ...)", and that default."""
    match = DEFAULT.search(help_text or "")
    if not match:
        return help_text or "", None
    return help_text[: match.start()].rstrip(), match.group("value")


def hypermodel_parser():
    """A real pytest Parser with the plugin's options and ini keys added, as pytest adds them."""
    from _pytest.config.argparsing import Parser

    from pytest_hypermodel import plugin

    try:
        parser = Parser(_ispytest=True)
    except TypeError:  # pytest before 7 had no _ispytest
        parser = Parser()
    plugin.pytest_addoption(parser)
    return parser


def options_rows() -> list[dict]:
    """One row per command-line option: flags, value, ini twin, default, help; then the ini-only keys."""
    parser = hypermodel_parser()
    ini = {name: value for name, value in parser._inidict.items() if name.startswith("hypermodel")}
    rows, seen = [], set()
    for option in parser.getgroup("hypermodel").options:
        attrs = option.attrs()
        dest = attrs["dest"]
        text, default = _split_default(attrs.get("help", ""))
        if dest in ini:
            seen.add(dest)
            ini_default = ini[dest][2]
            if default is None and ini_default not in ("", [], False, None):
                default = str(ini_default)
        # pytest 9 wraps the argparse action (attrs() is its __dict__); pytest 8 kept the keyword arguments.
        action = getattr(option, "_action", None)
        flag = attrs.get("nargs") == 0 or attrs.get("action") == "store_true"
        repeatable = isinstance(action, argparse._AppendAction) or attrs.get("action") == "append"
        if attrs.get("choices"):
            value = "|".join(map(str, attrs["choices"]))
        elif flag:
            value = ""
        else:
            value = attrs.get("metavar") or dest.upper()
        rows.append({"flags": ", ".join(option.names()), "value": value, "ini": dest if dest in ini else "",
                     "ini_type": ini[dest][1] if dest in ini else "",
                     "default": default or ("off" if flag else "none"), "help": text,
                     "repeatable": repeatable and "repeat" not in text})
    for name, (help_text, kind, default) in ini.items():
        if name not in seen:
            rows.append({"flags": "", "value": "", "ini": name, "ini_type": kind,
                         "default": str(default) if default not in ("", [], None) else "none", "help": help_text,
                         "repeatable": kind == "linelist"})
    return rows


def options_markdown() -> str:
    lines = ["| Option | ini key | Default | What it does |", "| --- | --- | --- | --- |"]
    for row in options_rows():
        flag = f"`{row['flags']} {row['value']}`".replace(" `", "`") if row["flags"] else "(ini only)"
        kind = {"linelist": " (one per line)", "bool": " (true or false)"}.get(row["ini_type"], "")
        ini = f"`{row['ini']}`{kind}" if row["ini"] else "none"
        help_text = row["help"] + (" Repeatable." if row["repeatable"] and row["flags"] else "")
        lines.append(f"| {_cell(flag)} | {_cell(ini)} | {_cell(row['default'])} | {_cell(help_text)} |")
    return "\n".join(lines)


def search_parser() -> argparse.ArgumentParser:
    from pytest_hypermodel.search import cli

    parser = cli.parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return commands.choices["search"]


def search_markdown() -> str:
    parser = search_parser()
    lines = [parser.description or "", "", "| Argument | Default | What it does |", "| --- | --- | --- |"]
    for group in parser._action_groups:
        for action in group._group_actions:
            if isinstance(action, argparse._HelpAction):
                continue
            if action.option_strings:
                value = "" if action.nargs == 0 else " " + (action.metavar or action.dest.upper())
                if action.choices:
                    value = " " + "|".join(map(str, action.choices))
                name = f"`{action.option_strings[0]}{value}`"
            else:
                name = f"`{action.metavar or action.dest}`"
            text, default = _split_default(action.help or "")
            if default is None:
                default = "required" if action.required or not action.option_strings else (
                    "off" if action.nargs == 0 else ("none" if action.default in (None, []) else str(action.default)))
            if group.title and group.title.startswith("policy"):
                text = (text + "; " if text else "") + "policy: must equal the preflight's"
            if isinstance(action, argparse._AppendAction) and "repeat" not in text:
                text += " Repeatable."
            lines.append(f"| {_cell(name)} | {_cell(default)} | {_cell(text)} |")
    columns = os.environ.get("COLUMNS")
    os.environ["COLUMNS"] = "100"  # argparse wraps at the terminal's width: the same page on every machine
    try:
        usage = parser.format_help().rstrip()
    finally:
        if columns is None:
            del os.environ["COLUMNS"]
        else:
            os.environ["COLUMNS"] = columns
    lines += ["", "`--help` prints:", "", "```text", usage, "```"]
    return "\n".join(lines)


def file_markdown(path: str) -> str:
    """A repository file shown whole, so the page shows what the file holds, not a copy of it."""
    language = {".yml": "yaml", ".yaml": "yaml", ".py": "python", ".ini": "ini"}.get(Path(path).suffix, "text")
    return f"```{language}\n{(ROOT / path).read_text().rstrip()}\n```"


GENERATED = {"<!-- generated: options -->": options_markdown, "<!-- generated: search -->": search_markdown}
INCLUDE = re.compile(r"<!-- generated: file (?P<path>\S+) -->")


def on_page_markdown(markdown: str, page, config, files) -> str:
    for marker, render in GENERATED.items():
        if marker in markdown:
            markdown = markdown.replace(marker, render())
    return INCLUDE.sub(lambda match: file_markdown(match.group("path")), markdown)


def on_files(files, config):
    from mkdocs.structure.files import File

    files.append(File.generated(config, "changelog.md", content=(ROOT / "CHANGELOG.md").read_text()))
    return files
