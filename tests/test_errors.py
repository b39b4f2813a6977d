"""One root for the engine's exceptions: every public one is a DeidError with a stable code."""

from __future__ import annotations

import enum
import importlib
import inspect
import pkgutil
import re

import deidengine
from deidengine.core.errors import Code, CoreError, TruncatedError
from deidengine.errors import DeidError, EngineCode
from deidengine.run.outcome import Reason

OUTSIDE: frozenset[str] = frozenset(
    {
        # A signal (SIGINT/SIGTERM) unwinding the run, a BaseException like KeyboardInterrupt.
        "deidengine.run.signals.RunInterrupted",
        # The table header stage declines a file (the pipeline's Dataset path then takes it):
        # a routing signal that never leaves the pipeline.
        "deidengine.dicom.table_apply.LeanUnsupported",
    }
)
"""Public exception classes that are not errors, so not DeidErrors."""

STABLE = re.compile(r"[a-z]+(-[a-z0-9]+)*")


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class a module of the package defines, by qualified name."""
    found: dict[str, type[BaseException]] = {}
    for module_info in pkgutil.walk_packages(deidengine.__path__, "deidengine."):
        if module_info.name.endswith("__main__"):
            continue
        module = importlib.import_module(module_info.name)
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and not issubclass(value, Warning)  # a warning is not an error
                and value.__module__ == module.__name__
                and not name.startswith("_")
            ):
                found[f"{value.__module__}.{name}"] = value
    return found


def test_every_public_exception_has_the_root_and_a_stable_code() -> None:
    classes = exception_classes()
    assert len(classes) >= 30
    roots = {name for name, cls in classes.items() if not issubclass(cls, DeidError)}
    assert roots == OUTSIDE
    for name, cls in classes.items():
        per_error = issubclass(cls, CoreError) or name.endswith(".InputRefused")
        if cls is DeidError or name in OUTSIDE or per_error:
            continue  # the root, and the errors whose codes are set per error (see below)
        code = cls.__dict__.get("code")
        assert isinstance(code, EngineCode), f"{name} names no code of its own"


def test_each_engine_code_names_one_class() -> None:
    owners: dict[EngineCode, list[str]] = {}
    for name, cls in exception_classes().items():
        code = cls.__dict__.get("code")
        if isinstance(code, EngineCode):
            owners.setdefault(code, []).append(name)
    assert {code: len(names) for code, names in owners.items()} == dict.fromkeys(EngineCode, 1), (
        "every code is used, each by one class"
    )


def test_the_codes_are_stable_words() -> None:
    for family in (EngineCode, Code, Reason):
        for member in family:
            assert isinstance(member.value, str) and STABLE.fullmatch(member.value), member
    # The same words name a cause as an exception and as a quarantine reason.
    assert EngineCode.TOO_LARGE.value == Reason.TOO_LARGE.value
    assert EngineCode.PIXELS_NOT_CLEAN.value == Reason.PIXELS_NOT_CLEAN.value
    assert EngineCode.UNDECODABLE_PIXEL_DATA.value == Reason.UNDECODABLE_PIXEL_DATA.value
    assert EngineCode.LOOKUP_MISS.value == Reason.LOOKUP_MISS.value
    assert EngineCode.REJECTED_BY_POLICY.value == Reason.REJECTED_BY_POLICY.value


def test_per_error_codes() -> None:
    from deidengine.run.admission import InputRefused

    refused = InputRefused(Reason.TRUNCATED)
    assert isinstance(refused, DeidError) and refused.code is Reason.TRUNCATED
    truncated = TruncatedError("the stream ends inside a value", 12)
    assert isinstance(truncated, DeidError) and truncated.code is Code.TRUNCATED


def test_the_former_bases_still_catch() -> None:
    from deidengine.dicom.dates import UnparseableDateError
    from deidengine.run.worker_protocol import WorkerStartError

    assert issubclass(UnparseableDateError, ValueError)
    assert issubclass(WorkerStartError, RuntimeError)
    assert isinstance(EngineCode.DISK_FULL, enum.Enum)
