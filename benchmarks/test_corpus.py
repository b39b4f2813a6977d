"""The benchmark corpora are what the comparison says they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pydicom

from benchmarks.corpus import IMAGE_TEMPLATES, TEMPLATES, template_path, write_corpus


def test_every_file_is_a_distinct_patient_with_distinct_uids(tmp_path: Path) -> None:
    paths = write_corpus(tmp_path, 8)
    datasets = [pydicom.dcmread(path) for path in paths]
    assert [str(d.SOPClassUID) for d in datasets] == [
        str(pydicom.dcmread(template_path(TEMPLATES[i % 4])).SOPClassUID) for i in range(8)
    ]
    for keyword in ("PatientName", "PatientID", "StudyInstanceUID", "SOPInstanceUID"):
        assert len({str(d.data_element(keyword).value) for d in datasets}) == 8, keyword


def test_the_image_corpus_tiles_each_template_to_the_matrix(tmp_path: Path) -> None:
    paths = write_corpus(tmp_path, 2, IMAGE_TEMPLATES, matrix=512)
    for path, name in zip(paths, IMAGE_TEMPLATES, strict=True):
        made = pydicom.dcmread(path)
        template = pydicom.dcmread(template_path(name)).pixel_array
        rows, columns = template.shape
        assert (made.Rows, made.Columns) == (512, 512)
        assert len(made.PixelData) == 512 * 512 * template.itemsize
        pixels = made.pixel_array
        assert np.array_equal(pixels[:rows, :columns], template)
        assert np.array_equal(pixels[rows : 2 * rows, columns : 2 * columns], template)
        assert made.PatientName != pydicom.dcmread(template_path(name)).PatientName
