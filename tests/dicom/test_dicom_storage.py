"""store_bytes_atomically: exactly the given bytes under the target, linked once, and only
after they are durable."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

import deidengine.dicom.storage as storage
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


class _RecordingOs:
    """Records the durability-relevant calls store_bytes_atomically makes, in order, and
    passes each on to the real function."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, ...]] = []
        self._link, self._unlink, self._sync = os.link, os.unlink, os.fdatasync
        monkeypatch.setattr(os, "fdatasync", self.fdatasync)
        monkeypatch.setattr(os, "link", self.link)
        monkeypatch.setattr(os, "unlink", self.unlink)

    def fdatasync(self, descriptor: int) -> None:
        # The whole file is written (and flushed from Python's buffer) when it is synced.
        self.calls.append(("sync", str(os.fstat(descriptor).st_size)))
        self._sync(descriptor)

    def link(self, source: str, target: Path) -> None:
        self.calls.append(("link", Path(source).name, str(target)))
        self._link(source, target)

    def unlink(self, path: str) -> None:
        self.calls.append(("unlink", Path(path).name))
        self._unlink(path)


def test_the_data_are_durable_before_the_final_name_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _RecordingOs(monkeypatch)
    target = tmp_path / "study" / "x.dcm"
    assert store_bytes_atomically(b"0123456789", target, same=_equal) is StoreResult.WRITTEN
    (sync, link, unlink) = recorder.calls
    assert sync == ("sync", "10")
    temporary = link[1]
    assert temporary.startswith(".deid-x.dcm.") and temporary.endswith(".tmp")
    assert link == ("link", temporary, str(target))
    assert unlink == ("unlink", temporary)
    assert target.read_bytes() == b"0123456789"
    assert [p.name for p in target.parent.iterdir()] == ["x.dcm"]


def test_an_existing_file_is_compared_not_replaced_and_the_temporary_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "x.dcm"
    target.write_bytes(b"other")
    recorder = _RecordingOs(monkeypatch)
    assert store_bytes_atomically(b"mine", target, same=_equal) is StoreResult.CONFLICT
    assert [call[0] for call in recorder.calls] == ["sync", "link", "unlink"]
    assert target.read_bytes() == b"other"
    assert [p.name for p in tmp_path.iterdir()] == ["x.dcm"]


def test_without_fdatasync_the_file_is_fsynced(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = os.fsync

    def fsync(descriptor: int) -> None:
        synced.append(os.fstat(descriptor).st_size)
        real(descriptor)

    monkeypatch.delattr(os, "fdatasync")
    monkeypatch.setattr(os, "fsync", fsync)
    assert store_bytes_atomically(b"abc", tmp_path / "x.dcm", same=_equal) is StoreResult.WRITTEN
    assert synced == [3]


def test_a_failed_write_leaves_neither_the_file_nor_a_temporary(tmp_path: Path) -> None:
    def failing(stream: object) -> None:
        raise OSError("no space left")

    with pytest.raises(OSError, match="no space"):
        storage._store(failing, tmp_path / "x.dcm", storage._identical, ".deid-")
    assert list(tmp_path.iterdir()) == []
