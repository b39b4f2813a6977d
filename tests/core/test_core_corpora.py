"""The project's own generated corpora and bundled samples: read as pydicom reads them, written
as ``dcmwrite`` writes them.

Beside pydicom's test files, these carry what the engine is built for: personalised headers
(names, dates, UIDs), added sequences and private blocks, a private-heavy file, image series
tiled to a clinical size, and the sample data shipped in samples/.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest

from benchmarks.corpus import IMAGE_TEMPLATES, private_heavy, write_corpus
from deidengine.core.reader import read
from deidengine.core.writer import encode
from tests.core.differential import compare, dcmwrite_bytes
from tests.phi_corpus import write_corpus as write_phi_corpus

SAMPLES = sorted((Path(__file__).parents[2] / "samples").rglob("*.dcm"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    root = tmp_path_factory.mktemp("core-corpora")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = write_corpus(root / "mixed", 8)
        files += write_corpus(root / "images", 2, IMAGE_TEMPLATES, matrix=128)
        files += list(write_phi_corpus(root / "phi").values())
        files.append(private_heavy(root / "private_heavy.dcm", blocks=3, elements=40))
    return files + SAMPLES


def test_generated_corpora_and_samples_read_and_write_as_pydicom(corpus: list[Path]) -> None:
    assert len(SAMPLES) >= 5
    for path in corpus:
        data = path.read_bytes()
        verdict = compare(data)
        assert verdict.agree and not verdict.rules, (path.name, verdict.detail)
        assert encode(read(data)) == dcmwrite_bytes(data), path.name
