"""What a gate box cannot be text without: the cheap first stage of the character check.

The gate proposes boxes from stroke-like structure; RapidOCR's recogniser then decides whether
a box reads as characters (:func:`deidengine.pixels.ocr.reads_characters`, ~13 ms a crop).
Some boxes are plainly not text: a bright lobe of anatomy at a frame's edge (MR slices show
one), whose brightness rolls off over many pixels and which is one blob, not several strokes.
:func:`text_free_by_shape` says so from the pixels alone, in microseconds, and says nothing
else: it never answers "text", and the crops it does not settle get the full check.

Two independent properties, both required:

- **smooth**: no edge is steep (:func:`edge_steepness` below :data:`SMOOTH_EDGES`). Glyphs
  are drawn with edges a pixel or two wide; anatomy rolls off over many.
- **one lobe**: in one polarity or the other, no row or column crosses two parts with a gap
  between them (:func:`lobe_depth` below :data:`ONE_LOBE`). Two or more characters are at
  least two strokes with background between and around them (the gate pads its boxes): two
  bright parts with a dark gap, and two dark parts with a bright one, whichever way round the
  text is drawn.

Measured (``python -m benchmarks.gate_check``): over every gate crop of the burned-in
benchmark's text frames, of a held-out set in other faces, of the same frames zoomed and
blurred until the text is barely legible, and of pydicom's own test images, every crop the
recogniser reads as text (1,428) has a lobe depth >= 0.28 and every unblurred one an edge
steepness >= 4.9 (>= 8.9 on the synthetic frames); the MR anatomy box has 0.07 and 3.3.
"""

from __future__ import annotations

from typing import Final

import numpy as np
import numpy.typing as npt

__all__ = ["ONE_LOBE", "SMOOTH_EDGES", "edge_steepness", "lobe_depth", "text_free_by_shape"]

Grey8 = npt.NDArray[np.uint8]

#: Below this :func:`edge_steepness` a crop is smooth (text >= 4.9 unblurred, >= 2.2 blurred
#: to the edge of legibility; the MR anatomy box 3.3): smoothness alone is not final.
SMOOTH_EDGES: Final = 4.5
#: Below this :func:`lobe_depth` a crop is one lobe in some polarity (text >= 0.28, also
#: blurred; the MR anatomy box 0.07).
ONE_LOBE: Final = 0.15


def edge_steepness(crop: Grey8) -> float:
    """The steepest step between neighbouring pixels of ``crop`` as a share of its range of
    values, times its shorter side: about how many of its sharpest edges fit across it.
    0 for a flat crop or one a single pixel wide."""
    height, width = crop.shape[:2]
    if height < 2 or width < 2:
        return 0.0
    values = crop.astype(np.int16)
    span = int(values.max()) - int(values.min())
    if span == 0:
        return 0.0
    step = max(
        int(np.abs(np.diff(values, axis=0)).max()), int(np.abs(np.diff(values, axis=1)).max())
    )
    return float(step / span * min(height, width))


def _gap_depth(values: npt.NDArray[np.int16]) -> int:
    """The deepest dip of any row of ``values`` below the lower of the highest values on its
    left and on its right: a gap between two brighter parts."""
    left = np.maximum.accumulate(values, axis=1)
    right = np.maximum.accumulate(values[:, ::-1], axis=1)[:, ::-1]
    return int((np.minimum(left, right) - values).max())


def lobe_depth(crop: Grey8) -> float:
    """How clearly ``crop`` holds two or more separate parts in its *least* separated polarity:
    the deepest gap between two brighter parts along any row or column, and the same between
    two darker parts, each as a share of the crop's range; the smaller of the two. 0 for a
    flat or empty crop."""
    if crop.size == 0:
        return 0.0
    values = crop.astype(np.int16)
    span = int(values.max()) - int(values.min())
    if span == 0:
        return 0.0
    bright = max(_gap_depth(values), _gap_depth(values.T))
    dark = max(_gap_depth(-values), _gap_depth(-values.T))
    return min(bright, dark) / span


def text_free_by_shape(crop: Grey8) -> bool:
    """True only when ``crop`` is both smooth and one lobe: no text can be that. False means
    "not known": ask the recogniser."""
    return edge_steepness(crop) < SMOOTH_EDGES and lobe_depth(crop) < ONE_LOBE
