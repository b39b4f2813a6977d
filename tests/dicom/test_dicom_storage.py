"""store_bytes_atomically: exactly the given bytes under the target, linked once."""

from __future__ import annotations

from pathlib import Path

from deidengine.dicom.storage import StoreResult, store_bytes_atomically


def _equal(mine: bytes, theirs: Path) -> bool:
    return mine == theirs.read_bytes()


def test_the_bytes_are_written_as_given_and_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "study" / "series" / "x.dcm"
    assert store_bytes_atomically(b"first", target, same=_equal) is StoreResult.WRITTEN
    assert target.read_bytes() == b"first"
    assert store_bytes_atomically(b"first", target, same=_equal) is StoreResult.ALREADY_THERE
    assert store_bytes_atomically(b"other", target, same=_equal) is StoreResult.CONFLICT
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in target.parent.iterdir()) == ["x.dcm"]


def test_the_comparison_gets_the_new_bytes_and_the_existing_file(tmp_path: Path) -> None:
    target = tmp_path / "x.dcm"
    target.write_bytes(b"on disk")
    seen: list[tuple[bytes, bytes]] = []

    def same(mine: bytes, theirs: Path) -> bool:
        seen.append((mine, theirs.read_bytes()))
        return True

    assert store_bytes_atomically(b"new", target, same=same) is StoreResult.ALREADY_THERE
    assert seen == [(b"new", b"on disk")]
