"""Importing this module loads the text stage's word lists (:func:`warm_text_stage`).

It exists for the fork server (:data:`deidengine.run.executor.PRELOADED`), which can only be
told which modules to import: the server imports it once, and every worker it forks starts with
the lists loaded, as a worker forked from the run itself does.
"""

from __future__ import annotations

from deidengine.text.warmup import warm_text_stage

warm_text_stage()
