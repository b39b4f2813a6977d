"""Print the text stage's scores on the labelled set: ``python -m benchmarks.text_eval``.

One table per split (tuning, held-out, hard): recall of identifier spans per category, the share of
clinical tokens kept, and time per value on one core: the median over the distinct values read
the first time (nothing cached) and read again (what a series' repeated descriptions cost).
"""

from __future__ import annotations

import statistics
import sys

from deidengine.text import stage, vocabulary
from tests.text.eval_set import Score, generate, score

SIZES = {"tuning": 1200, "held-out": 1000, "hard": 400}


def _table(split: str, first: Score, again: Score) -> str:
    lines = [f"## {split}: {sum(t for _, t in first.recall.values())} identifier spans"]
    lines.append(f"{'category':<13}{'found':>7}{'total':>7}{'recall':>9}")
    for category, (found, total) in first.recall.items():
        lines.append(f"{category:<13}{found:>7}{total:>7}{found / total:>9.2%}")
    kept, total = first.kept
    lines.append(f"{'clinical kept':<13}{kept:>7}{total:>7}{first.keep_rate:>9.2%}")
    lines.append(
        f"time per value: median {statistics.median(first.seconds) * 1e3:.3f} ms first read, "
        f"{statistics.median(again.seconds) * 1e3:.4f} ms cached; "
        f"95th percentile {sorted(first.seconds)[int(len(first.seconds) * 0.95)] * 1e3:.3f} ms"
    )
    return "\n".join(lines)


def main() -> int:
    vocabulary.warm()
    from deidengine.text import ner

    ner.pipeline()  # loaded once per process, as a worker does before its first file
    for split, size in SIZES.items():
        values = generate(split, size)
        stage._cached_read.cache_clear()
        first = score(values)
        again = score(values)
        print(_table(split, first, again))
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
