"""The base of every document model: immutable, and no key the model does not name."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

__all__ = ["DOCUMENT_CONFIG", "Document"]

#: Frozen (documents are values), closed (an unknown key is an error, so a writer that adds
#: a key without its model fails the tests instead of drifting from the published schema).
DOCUMENT_CONFIG = ConfigDict(frozen=True, extra="forbid")


class Document(BaseModel):
    """A JSON object deidengine writes or reads."""

    model_config = DOCUMENT_CONFIG
