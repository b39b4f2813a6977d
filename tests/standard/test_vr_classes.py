"""The standard's VR classes, tags and codes are declared once: in standard.vr_classes."""

from __future__ import annotations

import ast
from pathlib import Path

from pydicom.valuerep import VR

import deidengine
from deidengine.standard import vr_classes

NAMES = (
    "PIXEL_DATA_TAGS",
    "DATE_VRS",
    "DATE_TIME_VRS",
    "TEXT_VRS",
    "KEYED_TEXT_VRS",
    "CODED_VRS",
    "COMPOUND_CODES",
)


def test_no_other_module_declares_them() -> None:
    package = Path(deidengine.__file__).parent
    declared: list[str] = []
    for path in sorted(package.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = node.targets if isinstance(node, ast.Assign) else []
            if isinstance(node, ast.AnnAssign):
                targets = [node.target]
            declared += [
                f"{path.relative_to(package)}:{t.id}"
                for t in targets
                if isinstance(t, ast.Name) and t.id in NAMES
            ]
    assert sorted(declared) == sorted(f"standard/vr_classes.py:{name}" for name in NAMES)


def test_the_classes_are_the_standards_vrs() -> None:
    known = {vr.value for vr in VR}
    for name in ("DATE_VRS", "DATE_TIME_VRS", "TEXT_VRS", "KEYED_TEXT_VRS", "CODED_VRS"):
        assert getattr(vr_classes, name) <= known, name
    assert {"TM"} == vr_classes.DATE_TIME_VRS - vr_classes.DATE_VRS
    assert {"UR"} == vr_classes.TEXT_VRS - vr_classes.KEYED_TEXT_VRS
    assert {"CS"} == vr_classes.TEXT_VRS & vr_classes.CODED_VRS
    assert {0x7FE00010, 0x7FE00008, 0x7FE00009} == vr_classes.PIXEL_DATA_TAGS
