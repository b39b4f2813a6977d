"""Evaluate a rule's ``when`` condition against the input's top-level attribute values.

Conditions read the INPUT as it was before any action ran (a snapshot), so the order in which
elements are de-identified never changes which rules apply.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.multival import MultiValue

from deidengine.core.table import TOP, ElementTable
from deidengine.core.values import resolved_vr
from deidengine.dicom.dates import age_from_dates, age_in_years
from deidengine.dicom.table_values import converted_texts
from deidengine.policy import ast
from deidengine.policy.plan import PlannedRule

PATIENT_AGE = 0x00101010
PATIENT_BIRTH_DATE = 0x00100030
REFERENCE_DATES = (0x00080020, 0x00080023, 0x00080022, 0x00080012)  # Study, Content, Acq., Inst.


def _texts(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, MultiValue | list | tuple):
        return tuple(str(v).strip() for v in value)
    if isinstance(value, bytes):
        return (value.decode("latin-1").strip(" \x00"),)
    return (str(value).strip(),)


@dataclass(frozen=True, slots=True)
class ConditionSnapshot:
    """The input's top-level values by tag, and derived values such as ``age``."""

    values: Mapping[int, tuple[str, ...]]
    derived: Mapping[str, float]

    @classmethod
    def of(cls, dataset: Dataset, tags: Iterable[int] | None = None) -> ConditionSnapshot:
        """Take the values of ``tags`` (every top-level element when ``None``); reading only
        what conditions use spares parsing the rest of the input."""
        values: dict[int, tuple[str, ...]] = {}
        elements = (
            dataset
            if tags is None
            else (element for tag in tags if (element := dataset.get(tag)) is not None)
        )
        for element in elements:
            fixed = _fixed_texts(str(element.VR))
            values[int(element.tag)] = _texts(element.value) if fixed is None else fixed
        return cls.of_values(values)

    @classmethod
    def of_table(
        cls,
        table: ElementTable,
        tags: Iterable[int] | None = None,
        top: Mapping[int, int] | None = None,
    ) -> ConditionSnapshot:
        """:meth:`of` on the lean reader's element table of the input: the same snapshot as
        of the dataset built from it, decoding only the values of ``tags``. ``top`` maps each
        top-level tag of the data set to its row (the last, as a dataset keeps it), when the
        caller has it from its own walk."""
        if top is None:
            top = {
                table.rows[index].tag: index
                for index in table.children(TOP)
                if not table.is_meta(index)
            }
        chosen = top if tags is None else {tag: top[tag] for tag in tags if tag in top}
        values: dict[int, tuple[str, ...]] = {}
        for tag, index in chosen.items():
            vr = resolved_vr(table, index)
            fixed = _fixed_texts(vr)
            values[tag] = (
                tuple(text.strip() for text in converted_texts(table, index, vr))
                if fixed is None
                else fixed
            )
        return cls.of_values(values)

    @classmethod
    def of_values(cls, values: Mapping[int, tuple[str, ...]]) -> ConditionSnapshot:
        """The snapshot of these top-level values, with the values derived from them."""
        derived: dict[str, float] = {}
        age = _age(values)
        if age is not None:
            derived["age"] = age
        return cls(values, derived)


#: VRs whose values conditions do not read as text.
NO_TEXT_VRS = frozenset({"OB", "OW", "OF", "OD", "OL", "OV", "UN"})


def _fixed_texts(vr: str) -> tuple[str, ...] | None:
    """What a condition reads of an element of ``vr`` whatever its value: a sequence is
    present with one empty value, a binary value has none; ``None``: its values (stripped)."""
    if vr == "SQ":
        return ("",)
    if vr in NO_TEXT_VRS:
        return ()
    return None


def _age(values: Mapping[int, tuple[str, ...]]) -> float | None:
    for text in values.get(PATIENT_AGE, ()):
        years = age_in_years(text) if text else None
        if years is not None:
            return years
    births = values.get(PATIENT_BIRTH_DATE, ())
    if births and births[0]:
        for tag in REFERENCE_DATES:
            on = values.get(tag, ())
            if on and on[0]:
                years_int = age_from_dates(births[0], on[0])
                if years_int is not None:
                    return float(years_int)
    return None


def _numeric(text: str) -> float | None:
    years = age_in_years(text) if text[-1:] in ("Y", "M", "W", "D") else None
    if years is not None:
        return years
    try:
        return float(text)
    except ValueError:
        return None


def _operand_values(operand: ast.Operand, snapshot: ConditionSnapshot) -> tuple[str, ...]:
    if operand.derived is not None:
        value = snapshot.derived.get(operand.derived)
        return () if value is None else (repr(value),)
    return snapshot.values.get(operand.tag or 0, ())


def _equal(text: str, expected: ast.Value) -> bool:
    if isinstance(expected, float):
        number = _numeric(text)
        return number is not None and number == expected
    return text == expected or text.upper() == expected.upper()


def _compare(condition: ast.Compare, snapshot: ConditionSnapshot) -> bool:
    texts = _operand_values(condition.operand, snapshot)
    if condition.comparator is ast.Comparator.EQ:
        return any(_equal(t, condition.value) for t in texts)
    if condition.comparator is ast.Comparator.NE:
        return bool(texts) and not any(_equal(t, condition.value) for t in texts)
    order = ORDERINGS[condition.comparator]
    for text in texts:
        number = _numeric(text)
        if number is not None and isinstance(condition.value, float):
            if order(number, condition.value):
                return True
        elif isinstance(condition.value, str) and order(text, condition.value):
            return True
    return False


ORDERINGS: dict[ast.Comparator, Callable[[object, object], bool]] = {
    ast.Comparator.LT: lambda a, b: a < b,  # type: ignore[operator]
    ast.Comparator.LE: lambda a, b: a <= b,  # type: ignore[operator]
    ast.Comparator.GT: lambda a, b: a > b,  # type: ignore[operator]
    ast.Comparator.GE: lambda a, b: a >= b,  # type: ignore[operator]
}


def first_applicable(
    rules: Iterable[PlannedRule], snapshot: ConditionSnapshot
) -> PlannedRule | None:
    """The first rule (in precedence order) whose condition holds, or ``None``."""
    for rule in rules:
        if rule.condition is None or condition_holds(rule.condition, snapshot):
            return rule
    return None


def condition_holds(condition: ast.Condition, snapshot: ConditionSnapshot) -> bool:
    """True when ``condition`` holds for the snapshot; a missing operand makes a test false."""
    match condition:
        case ast.Compare():
            return _compare(condition, snapshot)
        case ast.Membership(operand=operand, values=values):
            return any(_equal(t, v) for t in _operand_values(operand, snapshot) for v in values)
        case ast.Presence(operand=operand, present=present):
            found = bool(_operand_values(operand, snapshot))
            return found if present else not found
        case ast.Not(operand=inner):
            return not condition_holds(inner, snapshot)
        case ast.And(operands=parts):
            return all(condition_holds(p, snapshot) for p in parts)
        case ast.Or(operands=parts):
            return any(condition_holds(p, snapshot) for p in parts)
    raise AssertionError(condition)
