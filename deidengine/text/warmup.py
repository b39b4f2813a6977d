"""Load what the text stage loads on first use, now: before a run forks its workers.

The text stage (and the verifier's leak scan, which reads free text with it) loads its word
lists on the first file that has text, in each process. A run that forks its workers from a
process that has already loaded them gives every worker the lists for nothing (the pages are
shared until written, and the executor freezes the worker's heap out of the collector), where
each worker would otherwise load them again. Loading changes nothing the stage finds: the lists
are the same whenever they are loaded.

spaCy's pipeline is the exception: it is loaded only for mixed-case text with a word no list
vouches for (reports, SR text), and costs about half a second and a hundred megabytes, so it is
loaded here only when asked (:data:`NER_VARIABLE`): a run of image series never needs it.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Mapping
from typing import Final

from deidengine.text import ner, vocabulary

__all__ = ["NER_VARIABLE", "warm_text_stage"]

NER_VARIABLE: Final = "DEID_PRELOAD_NER"
"""Set to ``1``, a run also loads spaCy's pipeline before forking its workers."""


def warm_text_stage(environ: Mapping[str, str] = os.environ) -> None:
    """Load the text stage's word lists (and spaCy's pipeline when :data:`NER_VARIABLE` asks).

    Never raises: what cannot be loaded now is loaded (or fails) where the stage first needs
    it, as it would have without this call, so a broken installation ends each file as before.
    """
    with contextlib.suppress(Exception):
        vocabulary.warm()
        if environ.get(NER_VARIABLE) == "1":
            ner.pipeline()
