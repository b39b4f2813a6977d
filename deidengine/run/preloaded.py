"""Importing this module loads what :func:`~deidengine.run.warmup.warm_engine` loads.

It exists for the fork server (:data:`deidengine.run.executor.PRELOADED`), which can only be
told which modules to import: the server imports it once, and every worker it forks starts with
the word lists and the standard's tables loaded, as a worker forked from the run itself does.
"""

from __future__ import annotations

from deidengine.run.warmup import warm_engine

warm_engine()
