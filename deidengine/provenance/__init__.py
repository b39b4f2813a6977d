"""De-identification provenance: what ran, stamped into the output, and, for honest brokers,
the original values enveloped for one recipient and restorable by that recipient alone.

* :mod:`deidengine.provenance.stamp`: :class:`WhatRan` and :func:`stamp_provenance`.
* :mod:`deidengine.provenance.original_attributes`: Original Attributes Sequence, Encrypted
  Attributes Sequence (CMS EnvelopedData), :func:`reidentify`.
* :mod:`deidengine.provenance.files`: re-identify files and trees (``deid reidentify``).
"""

from deidengine.provenance.original_attributes import (
    OriginalAttributesError,
    collect_original_attributes,
    decrypt_original_attributes,
    encrypt_original_attributes,
    original_snapshot,
    protect_original_attributes,
    reidentify,
)
from deidengine.provenance.stamp import (
    KeptPrivateBlock,
    PixelOutcome,
    WhatRan,
    kept_private_blocks,
    plan_known_safe,
    private_block_inventory,
    stamp_provenance,
)

__all__ = [
    "KeptPrivateBlock",
    "OriginalAttributesError",
    "PixelOutcome",
    "WhatRan",
    "collect_original_attributes",
    "decrypt_original_attributes",
    "encrypt_original_attributes",
    "kept_private_blocks",
    "original_snapshot",
    "plan_known_safe",
    "private_block_inventory",
    "protect_original_attributes",
    "reidentify",
    "stamp_provenance",
]
