"""What the header stage asks of the free-text stage, typed here so dicom/ does not import it.

``clean`` and ``scrub`` hand each text value to the free-text stage (:mod:`deidengine.text`),
which sits above this layer and itself reads dicom's deny-list and scrub categories. The header
stage therefore receives the cleaner as a value (:attr:`deidengine.dicom.apply.EngineContext.
text_cleaner`), built where both layers are known: :func:`deidengine.text.header.clean_header_text`
is the stage's own.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from deidengine.dicom.identifiers import IdentifyingValues
from deidengine.dicom.scrub import ScrubCategory

__all__ = ["CleanedText", "TextCleaner"]


@dataclass(frozen=True, slots=True)
class CleanedText:
    """What cleaning left of one value: the text, or ``None`` when the whole value must go."""

    text: str | None
    #: Why a value went (the stage's verdict), for the audit's ``text-removed:<reason>``.
    reason: str

    def __repr__(self) -> str:
        shown = "removed" if self.text is None else f"<{len(self.text)} characters>"
        return f"CleanedText({shown}, {self.reason})"


class TextCleaner(Protocol):
    """Mask the identifiers in one text value.

    ``scrub`` narrows what is looked for to a ``scrub`` rule's categories (``None``: every
    category, as ``C`` asks). ``strict`` removes a value the stage cannot vouch for. ``coded``
    marks a coded term (a code value or scheme): only the file's own identifying values are
    masked there, never a shape or a guess. Never raises for a value it cannot read.
    """

    def __call__(
        self,
        text: str,
        identifying: IdentifyingValues,
        *,
        scrub: frozenset[ScrubCategory] | None,
        strict: bool,
        coded: bool,
    ) -> CleanedText: ...
