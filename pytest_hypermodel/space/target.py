"""Resolve a ``--hypermodel`` SPEC to a KerasTuner ``HyperModel``.

Accepted forms: ``path/to/file.py:name``, ``package.module:name``, or a bare
``name`` defined in the rootdir's conftest.py. ``name`` may be a build
function ``fn(hp)``, a ``keras_tuner.HyperModel`` instance, a HyperModel
subclass with a no-argument constructor, or a function with no argument that
returns the user's own tuner (see ``tuners``). Every failure is a
``SpecError`` with a one-line message that says how to fix it.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

from pytest_hypermodel.space import user_tuner


class SpecError(ValueError):
    """A SPEC that does not resolve to a hypermodel (a usage error)."""


@dataclass
class Target:
    """A resolved SPEC: where it came from and the hypermodel to build."""

    spec: str
    path: Path
    name: str
    hypermodel: Any
    #: The user's own tuner, when the SPEC names one (or a function returning one): each case is its trial.
    tuner: Any = None
    #: The project (``DIR/NAME``) that tuner was given; it was created in a throwaway one instead.
    project: str | None = None
    #: The function that returned the tuner: the gated search calls it again, for the real project.
    factory: Any = None
    #: Whether the tuner's own ``search()`` prepared it (the Python API runs it up to the first trial).
    search_prepared: bool = False


def _module_name_for(path: Path, rootpath: Path) -> str:
    try:
        parts = path.with_suffix("").relative_to(rootpath).parts
    except ValueError:
        parts = (path.stem,)
    return ".".join(parts) if parts else path.stem


def _import_file(path: Path, rootpath: Path, spec: str, base: Path | None = None) -> ModuleType:
    name = _module_name_for(path, rootpath)
    existing = sys.modules.get(name)
    if existing is not None and Path(getattr(existing, "__file__", "") or "").resolve() == path:
        return existing
    module_spec = importlib.util.spec_from_file_location(name, path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    # Let the file import its siblings, as it would when run as a script.
    if str(path.parent) not in sys.path:
        sys.path.insert(0, str(path.parent))
    sys.modules[name] = module
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:
        del sys.modules[name]
        raise SpecError(f"--hypermodel {spec}: importing {path} raised {type(exc).__name__}: {exc}") from exc
    return module


def _import_module(module_name: str, rootpath: Path, spec: str, base: Path | None = None) -> ModuleType:
    for directory in dict.fromkeys(d for d in (rootpath, base) if d is not None):
        if str(directory) not in sys.path:
            sys.path.insert(0, str(directory))
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        raise SpecError(
            f"--hypermodel {spec}: no module named {exc.name!r}; use package.module:name importable "
            f"from the rootdir, or path/to/file.py:name"
        ) from exc
    except Exception as exc:
        raise SpecError(f"--hypermodel {spec}: importing {module_name} raised {type(exc).__name__}: {exc}") from exc


def _looks_like_hypermodel(obj: Any) -> bool:
    import keras_tuner as kt

    if isinstance(obj, kt.HyperModel) or (
        inspect.isclass(obj) and issubclass(obj, kt.HyperModel) and obj is not kt.HyperModel
    ):
        return True
    if inspect.isfunction(obj):
        params = list(inspect.signature(obj).parameters)
        return params[:1] == ["hp"]
    return False


def _candidates(module: ModuleType) -> str:
    names = sorted(
        name for name, obj in vars(module).items() if not name.startswith("_") and _looks_like_hypermodel(obj)
    )
    return f" (hypermodels there: {', '.join(names)})" if names else ""


def as_hypermodel(obj: Any, spec: str) -> Any:
    """A ``kt.HyperModel`` for a build function, a HyperModel instance or a HyperModel class."""
    import keras_tuner as kt
    from keras_tuner.src.engine.hypermodel import DefaultHyperModel

    if isinstance(obj, kt.HyperModel):
        return obj
    if inspect.isclass(obj):
        if not issubclass(obj, kt.HyperModel):
            raise SpecError(f"--hypermodel {spec}: {obj.__name__} is a class but not a keras_tuner.HyperModel subclass")
        try:
            return obj()
        except Exception as exc:  # TypeError for missing arguments; HyperResNet's ValueError for `classes`
            message = " ".join(str(exc).split()) or type(exc).__name__
            raise SpecError(
                f"--hypermodel {spec}: {obj.__name__}() raised {type(exc).__name__} ({message}); it needs "
                f"constructor arguments: create an instance in a module of yours and point the SPEC at it"
            ) from None
    if not callable(obj):
        raise SpecError(
            f"--hypermodel {spec}: {type(obj).__name__} object is not callable; point the SPEC at a build "
            f"function fn(hp), a keras_tuner.HyperModel instance or subclass"
        )
    if inspect.isbuiltin(obj):  # os:system is callable, but it would run the hp object as a shell command
        raise SpecError(
            f"--hypermodel {spec}: {obj.__name__} is a built-in function, not a build function; point the SPEC "
            f"at a build function fn(hp) of yours, a keras_tuner.HyperModel instance or subclass"
        )
    try:
        signature = inspect.signature(obj)
        signature.bind(object())
    except TypeError:
        raise SpecError(
            f"--hypermodel {spec}: the build function must take exactly one argument, hp; "
            f"it is {getattr(obj, '__name__', 'it')}{signature}: bind the others with functools.partial"
        ) from None
    except ValueError:
        pass  # builtins without a signature: let KerasTuner call them
    return DefaultHyperModel(obj)


@dataclass(frozen=True)
class Location:
    """What a SPEC names, read from its text and the file system alone: a file, a module, or conftest.py."""

    spec: str
    name: str
    path: Path | None = None  # a file (or conftest.py)
    module: str = ""  # package.module
    in_conftest: bool = False  # a bare name: the rootdir's conftest.py, as pytest imported it


def locate(spec: str, rootpath: Path, has_conftest: bool, base: Path | None = None) -> Location:
    """Everything about ``spec`` that needs no import: its form, and whether its file exists (SpecError if not).

    Cheap enough to run before a backend starts, so a typo is told at once. A path with no ``:name`` comes back
    with ``name=""``: :func:`resolve` imports the file to list the names it could have meant.
    """
    start = base or Path.cwd()
    spec = spec.strip()
    if not spec:
        raise SpecError(
            "--hypermodel needs a SPEC: path/to/file.py:name, package.module:name, or a name in conftest.py"
        )
    location, sep, name = spec.rpartition(":")
    if not sep:
        location, name = "", spec
    if location.endswith(".py") and not name:
        raise SpecError(f"--hypermodel {spec}: add ':name' naming the build function, e.g. {spec}:build_model")
    if not sep and (name.endswith(".py") or "/" in name):
        path = (start / name).resolve()
        if not path.is_file():
            raise SpecError(f"--hypermodel {spec}: add ':name' naming the build function")
        return Location(spec, "", path)
    if not name.isidentifier():
        raise SpecError(
            f"--hypermodel {spec}: {name!r} is not a Python name; use path/to/file.py:name or package.module:name"
        )
    if not location:
        if not has_conftest:
            raise SpecError(
                f"--hypermodel {spec}: a bare name must be defined in {rootpath / 'conftest.py'}, "
                "which does not exist; "
                f"use path/to/file.py:{name} or package.module:{name}"
            )
        return Location(spec, name, rootpath / "conftest.py", in_conftest=True)
    if location.endswith(".py") or "/" in location or "\\" in location:
        path = Path(location)
        path = (path if path.is_absolute() else start / path).resolve()
        if not path.is_file() and (rootpath / location).is_file():
            path = (rootpath / location).resolve()
        if not path.is_file():
            raise SpecError(f"--hypermodel {spec}: no file {path}; give a path relative to {start} or the rootdir")
        return Location(spec, name, path)
    return Location(spec, name, module=location)


def resolve(spec: str, rootpath: Path, conftest: ModuleType | None = None, base: Path | None = None) -> Target:
    """Import what ``spec`` names and wrap it as a HyperModel; SpecError on any problem.

    A relative path is taken from ``base`` (the ini file's directory, for a SPEC written there, as pytest
    does for its own paths), else from the working directory, then from the rootdir.
    """
    found = locate(spec, rootpath, conftest is not None, base)
    spec, name = found.spec, found.name
    if not name:
        assert found.path is not None  # a SPEC with no ':name' names a file
        module = _import_file(found.path, rootpath, spec, base)
        raise SpecError(f"--hypermodel {spec}: add ':name' naming the build function{_candidates(module)}")
    if found.module:
        module = _import_module(found.module, rootpath, spec, base)
        path = Path(module.__file__ or found.module).resolve()
    elif found.in_conftest:
        assert conftest is not None and conftest.__file__ is not None  # locate() names conftest.py only when it exists
        module, path = conftest, Path(conftest.__file__).resolve()
    else:
        assert found.path is not None  # neither a module nor conftest.py: a file
        module, path = _import_file(found.path, rootpath, spec, base), found.path
    if not hasattr(module, name):
        raise SpecError(f"--hypermodel {spec}: {path.name} defines no {name!r}{_candidates(module)}")
    obj = getattr(module, name)
    if user_tuner.is_tuner(obj):  # created at import, so its project was touched already: a factory avoids that
        refused = user_tuner.refusal(obj)
        if refused is not None:
            raise SpecError(f"--hypermodel {spec}: {refused}")
        return Target(spec, path, name, obj.hypermodel, obj)
    if user_tuner.is_factory(obj):
        tuner, project = _tuner_from(obj, spec)
        return Target(spec, path, name, tuner.hypermodel, tuner, project, obj)
    return Target(spec, path, name, as_hypermodel(obj, spec))


def _tuner_from(factory: Any, spec: str) -> tuple[Any, str | None]:
    """The tuner a no-argument function returns, created in a throwaway project; SpecError if it fails."""
    error: Exception
    try:
        return user_tuner.make(factory, spec)
    except ValueError as exc:
        if str(exc).startswith(f"--hypermodel {spec}:"):
            raise SpecError(str(exc)) from None
        error = exc
    except Exception as exc:
        error = exc
    message = " ".join(str(error).split()) or type(error).__name__
    raise SpecError(
        f"--hypermodel {spec}: {factory.__name__}() raised {type(error).__name__} ({message}); the tuner cannot "
        "be created, so the search would not start either (KerasTuner builds the default values in its "
        "constructor): fix the build function or its defaults"
    ) from None


def load_callable(text: str, rootpath: Path, label: str) -> Any:
    """The callable ``path/to/file.py:name`` or ``package.module:name`` names (the search's data: ``--data``,
    ``--hypermodel-search-data``); SpecError, one line starting with ``label``, when it cannot be had."""
    location, sep, name = text.strip().rpartition(":")
    if not sep or not location or not name.isidentifier():
        raise SpecError(f"{label} {text}: write path/to/file.py:callable or package.module:callable")
    try:
        if location.endswith(".py") or "/" in location:
            path = (rootpath / location).resolve()
            if not path.is_file():
                raise SpecError(f"{label} {text}: no file {path}")
            module = _import_file(path, rootpath, text)
        else:
            module = _import_module(location, rootpath, text)
    except SpecError as exc:
        raise SpecError(str(exc).replace(f"--hypermodel {text}:", f"{label} {text}:")) from None
    found = getattr(module, name, None)
    if not callable(found):
        raise SpecError(f"{label} {text}: {location} defines no callable {name!r}")
    return found
