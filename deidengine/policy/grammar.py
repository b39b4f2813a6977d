"""Where the policy grammar lives, readable without importing the parser (lark).

The plan cache (:mod:`deidengine.policy.cache`) fingerprints the grammar on every run; reading
it from here keeps lark out of a run whose plan comes from the cache.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

GRAMMAR_PACKAGE = "deidengine._grammar"
GRAMMAR_FILE = "policy.lark"


def grammar_text() -> str:
    """The grammar, from the installed package or, in a source tree, from ``grammar/``."""
    try:
        return resources.files(GRAMMAR_PACKAGE).joinpath(GRAMMAR_FILE).read_text("utf-8")
    except (ModuleNotFoundError, FileNotFoundError):
        root = Path(__file__).resolve().parents[2]
        return (root / "grammar" / GRAMMAR_FILE).read_text("utf-8")
