"""The small corpora the per-step benchmarks of issue #16 run on, a few files each."""

from __future__ import annotations

from pathlib import Path

from benchmarks.corpus import IMAGE_TEMPLATES, TEMPLATES, private_heavy, write_corpus
from tests.phi_corpus import write_corpus as write_phi_corpus

#: The mixed corpus (one file per template), the image series tiled to 256 x 256, the
#: private-heavy file, the PHI corpus.
CORPORA = ("mixed", "images", "private-heavy", "phi")


def write_bench_corpora(root: Path) -> dict[str, list[bytes]]:
    """Each of :data:`CORPORA` written under ``root``, as its files' bytes."""
    files = {
        "mixed": write_corpus(root / "mixed", len(TEMPLATES)),
        "images": write_corpus(root / "images", 2, IMAGE_TEMPLATES, matrix=256),
        "private-heavy": [private_heavy(root / "private_heavy.dcm")],
        "phi": list(write_phi_corpus(root / "phi").values()),
    }
    return {name: [Path(path).read_bytes() for path in paths] for name, paths in files.items()}
