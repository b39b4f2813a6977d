"""The lean reader against pydicom, the oracle: every bundled file and 11,000 seeded mutants.

:mod:`tests.core.differential` says what agreement is and names every tolerated difference
(:class:`~tests.core.differential.Rule`); these tests hold every outcome to it.
"""

from __future__ import annotations

import warnings
from collections import Counter
from pathlib import Path

import pytest

from tests.core.differential import Rule, compare
from tests.core.mutants import KINDS, SEEDS, mutants, seed_from
from tests.pydicom_files import DATA, bundled_charset_files, bundled_test_files

FILES = bundled_test_files() + bundled_charset_files("*")

#: The bundled files on which the readers differ by a named rule; every other file reads the
#: same with both (elements, VRs, value bytes, decoded values, nesting, private creators).
EXPECTED_RULES: dict[str, frozenset[Rule]] = {
    # Cut short: pydicom keeps the short last value, the reader says "truncated".
    "MR_truncated.dcm": frozenset({Rule.SHORT_VALUE}),
    "rtplan_truncated.dcm": frozenset({Rule.SHORT_VALUE}),
    # Not DICOM at all: pydicom (force=True) reads one element with a length far past the end.
    "no_meta.dcm": frozenset({Rule.SHORT_VALUE}),
    "zipMR.gz": frozenset({Rule.SHORT_VALUE}),
    "README.txt": frozenset({Rule.SHORT_VALUE}),
    "FileInfo.txt": frozenset({Rule.SHORT_VALUE}),
    "crayons.icc": frozenset({Rule.SHORT_VALUE}),
    "rtplan.dump": frozenset({Rule.SHORT_VALUE}),
    "rtstruct.dump": frozenset({Rule.SHORT_VALUE}),
    "test1.json": frozenset({Rule.SHORT_VALUE}),
    "test_PN.json": frozenset({Rule.SHORT_VALUE}),
    # The meta says JPEG Baseline (explicit VR), the data set is implicit VR.
    "SC_rgb_jpeg.dcm": frozenset({Rule.ENCODING_SWITCH}),
}

MUTANTS = 11_000


@pytest.fixture(autouse=True)
def _quiet() -> None:
    warnings.simplefilter("ignore")


@pytest.mark.parametrize("path", FILES, ids=lambda path: Path(path).name)
def test_bundled_file_reads_as_pydicom_reads_it(path: str) -> None:
    verdict = compare(Path(path).read_bytes())
    assert verdict.agree, verdict.detail
    assert verdict.rules == EXPECTED_RULES.get(Path(path).name, frozenset()), verdict.detail


@pytest.mark.slow
def test_mutants_read_as_pydicom_reads_them_or_both_fail() -> None:
    seeds = [seed_from(name, (DATA / name).read_bytes()) for name in SEEDS]
    outcomes: Counter[str] = Counter()
    rules: Counter[Rule] = Counter()
    kinds: Counter[str] = Counter()
    disagreements = []
    for name, data in mutants(seeds, MUTANTS):
        verdict = compare(data)
        kinds[name.rsplit(":", 1)[1]] += 1
        if not verdict.agree:
            disagreements.append(f"{name}: {verdict.detail}")
            continue
        outcomes[verdict.detail.split(":")[0]] += 1
        rules.update(verdict.rules)
    assert disagreements == []
    assert sum(kinds.values()) == MUTANTS >= 10_000
    assert set(kinds) == set(KINDS)
    # The mutants reach every structural rule, and a good share still read identically.
    assert {
        Rule.SHORT_VALUE,
        Rule.OVERRUN,
        Rule.EOF_BEFORE_DELIMITER,
        Rule.ENCODING_SWITCH,
        Rule.UNKNOWN_SYNTAX,
        Rule.NON_ITEM,
        Rule.STOPPED_EARLY,
    } <= set(rules)
    assert outcomes["same elements"] > MUTANTS // 5
    assert outcomes["both fail"] > MUTANTS // 10
