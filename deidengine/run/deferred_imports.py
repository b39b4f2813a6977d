"""Modules pydicom imports at start-up for a job ``deid`` never does: imported at first use.

pydicom's test-data downloader (``pydicom.data.download``, imported by ``import pydicom`` through
its pixel-processing helpers) imports ``requests`` (with urllib3, charset_normalizer, idna, the
cookie jars) and ``tqdm`` when they are installed, to fetch test files over the network and
draw a progress bar. A run never calls it: the imports are start-up cost only, measured at
35-45 ms of every start of ``deid`` (about a tenth of a one-file run). (requests is installed
for the DICOMweb client, :mod:`deidengine.serve.stow`, which imports it where it sends.)

The ``deid`` program (:func:`deidengine.cli.console_main`) therefore puts a stand-in for each
of them in ``sys.modules`` before anything imports pydicom (:func:`defer_unused_imports`):
``import requests`` finds it and succeeds at once, so pydicom records that it has requests, as
before; the first use of any of the stand-in's attributes (``requests.get``, or ``__path__``
for a submodule) imports the real module, which takes its place in ``sys.modules``, and answers
from it. (The standard library's ``importlib.util.LazyLoader`` cannot serve: Python 3.11's
import statement reads an already imported module's ``__spec__``, which makes a lazy module
load at once.) A module not installed stays missing, and one already imported is left as it
is. A host that calls the library keeps its own imports.
"""

from __future__ import annotations

import importlib
import importlib.util
import sys
import types
from importlib.machinery import ModuleSpec
from typing import Any, Final

__all__ = ["DEFERRED", "defer_unused_imports"]

DEFERRED: Final = ("requests", "tqdm")
"""pydicom's downloader's optional imports (see the module doc)."""


def _stand_in(name: str, spec: ModuleSpec) -> types.ModuleType:
    stand_in = types.ModuleType(name)
    stand_in.__spec__ = spec  # what the import statement reads: nothing is loaded yet

    def __getattr__(attribute: str) -> Any:  # PEP 562: only for names the stand-in lacks
        if sys.modules.get(name) is stand_in:
            del sys.modules[name]
        return getattr(importlib.import_module(name), attribute)

    stand_in.__getattr__ = __getattr__  # type: ignore[method-assign]
    return stand_in


def defer_unused_imports(names: tuple[str, ...] = DEFERRED) -> tuple[str, ...]:
    """Put a stand-in (see the module doc) in ``sys.modules`` for each module of ``names``
    that is neither imported yet nor missing; the names deferred so."""
    deferred = []
    for name in names:
        if name in sys.modules:
            continue
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is None:
            continue
        sys.modules[name] = _stand_in(name, spec)
        deferred.append(name)
    return tuple(deferred)
