"""The BLAS thread pool, which a run never uses: one thread in ``deid``'s processes by default.

numpy's bundled OpenBLAS starts a thread per core as numpy is imported (pydicom imports numpy),
and each new thread spins for a while before it sleeps: measured here, 140 ms of CPU at every
start of ``deid`` (290 ms without), taken from the main thread's imports on a busy machine, and
paid again by the fork server. The engine's parallelism is one worker process per core, with
which BLAS threads could only compete; its only matrix products are small (the pixel stage's
palette colours by three weights, pydicom's colour space conversions: pixels by a 3x3 matrix).

The ``deid`` program (:func:`deidengine.cli.console_main`) therefore sets
``OPENBLAS_NUM_THREADS=1`` before anything imports numpy, unless the user has chosen a count
(any of :data:`BLAS_THREAD_VARIABLES` set, even to the same value): a choice made outside is
kept. Its workers (forked, or from the fork server it starts) inherit the setting. Results are
the same with one thread or many: OpenBLAS splits a product's rows and columns between
threads, never the sum behind one element (over three terms here), so each element is computed
in the same order.

A host that calls the library (:mod:`deidengine.api`, or :func:`deidengine.cli.main` from its
own process) keeps its own setting: its numpy is its own.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Final

__all__ = ["BLAS_THREAD_VARIABLES", "default_blas_threads"]

BLAS_THREAD_VARIABLES: Final = ("OPENBLAS_NUM_THREADS", "GOTO_NUM_THREADS", "OMP_NUM_THREADS")
"""What OpenBLAS reads for its thread count, in its order; a user who set any of them chose."""


def default_blas_threads(environ: MutableMapping[str, str]) -> bool:
    """Set ``OPENBLAS_NUM_THREADS=1`` in ``environ`` unless a count is chosen there already;
    whether it was set. Effective only before numpy is first imported in this process (and for
    every process started from it afterwards)."""
    if any(name in environ for name in BLAS_THREAD_VARIABLES):
        return False
    environ["OPENBLAS_NUM_THREADS"] = "1"
    return True
