"""Load now what every worker would otherwise load at its first file: before a run forks them.

A forked worker starts with whatever its parent holds (the pages are shared until written, and
the executor freezes the worker's heap out of the collector), so each table loaded here, once,
is one that no worker loads again: the text stage's word lists
(:func:`~deidengine.text.warmup.warm_text_stage`), and the standard's tables that the header
stage reads on its first file with a compound code (PS3.3's attribute Types by IOD,
``iod_types.json``, 0.6 MB of JSON) or an SR content tree (Table E.3.4-1's concept names).
Measured before this module: a worker's first file took about 20 ms more than the next ones,
9 ms of them parsing those two tables; every worker paid it, and a two-worker run twice.

Loading changes nothing a file's outcome depends on: the tables are the same whenever they are
loaded. Nothing here raises: what cannot be loaded now is loaded (or fails) where a stage first
needs it, as it would have without this call.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping

from deidengine.standard import iod, sr
from deidengine.text.warmup import warm_text_stage

__all__ = ["warm_engine"]


def warm_engine(environ: Mapping[str, str] = os.environ) -> None:
    """Load the text stage's word lists and the standard's per-file tables (see the module
    doc); ``environ`` as :func:`~deidengine.text.warmup.warm_text_stage` reads it."""
    warm_text_stage(environ)
    with contextlib.suppress(Exception):
        iod.ciod_for_sop_class("")
        sr.sr_concept_actions()
        sr.sr_concept_actions_by_value_type()
