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
    "CHARACTER_SET_VRS",
    "UNSTRUCTURED_TEXT_VRS",
    "TEXT_VRS",
    "KEYED_TEXT_VRS",
    "CODED_VRS",
    "COMPOUND_CODES",
)
RETIRED = ("FREE_TEXT_VRS", "ENCODED_TEXT_VRS")
"""Names that meant two different sets in two modules; no module may bring them back."""


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
                if isinstance(t, ast.Name) and t.id in NAMES + RETIRED
            ]
    assert sorted(declared) == sorted(f"standard/vr_classes.py:{name}" for name in NAMES)


def literal_sets(tree: ast.AST) -> list[tuple[int, frozenset[object]]]:
    """Every set display of constants in ``tree`` (as in ``frozenset({...})``), with its line."""
    found: list[tuple[int, frozenset[object]]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Set) and all(isinstance(e, ast.Constant) for e in node.elts):
            elements = frozenset(e.value for e in node.elts if isinstance(e, ast.Constant))
            found.append((node.lineno, elements))
    return found


def test_no_other_module_spells_one_of_them_out() -> None:
    # A copy under another name is the same re-declaration (how FREE_TEXT_VRS came to mean two
    # sets): a set literal equal to one of the constants is an error outside their home.
    package = Path(deidengine.__file__).parent
    constants = {frozenset(getattr(vr_classes, name)): name for name in NAMES}
    copies = [
        f"{path.relative_to(package)}:{line} spells out {constants[elements]}"
        for path in sorted(package.rglob("*.py"))
        if path.name != "vr_classes.py"
        for line, elements in literal_sets(ast.parse(path.read_text(encoding="utf-8")))
        if elements in constants
    ]
    assert copies == []


def test_the_classes_are_the_standards_vrs() -> None:
    known = {vr.value for vr in VR}
    for name in NAMES:
        if name.endswith("_VRS"):
            assert getattr(vr_classes, name) <= known, name
    assert {"LO", "LT", "PN", "SH", "ST", "UC", "UT"} == vr_classes.CHARACTER_SET_VRS
    assert {"PN"} == vr_classes.CHARACTER_SET_VRS - vr_classes.UNSTRUCTURED_TEXT_VRS
    assert {"AE", "CS", "UR"} == vr_classes.TEXT_VRS - vr_classes.CHARACTER_SET_VRS
    assert {"TM"} == vr_classes.DATE_TIME_VRS - vr_classes.DATE_VRS
    assert {"UR"} == vr_classes.TEXT_VRS - vr_classes.KEYED_TEXT_VRS
    assert {"CS"} == vr_classes.TEXT_VRS & vr_classes.CODED_VRS
    assert {0x7FE00010, 0x7FE00008, 0x7FE00009} == vr_classes.PIXEL_DATA_TAGS
