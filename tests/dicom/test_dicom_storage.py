"""store_bytes_atomically: exactly the given bytes under the target, moved there once (never
over an existing file), and only after they are durable."""

from __future__ import annotations

import ctypes
import errno
import os
import shutil
import threading
import time
from copy import copy
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
    passes each on to the real function (``renameat2`` as ``move``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: list[tuple[str, ...]] = []
        self._link, self._unlink, self._sync = os.link, os.unlink, os.fdatasync
        self._rename = storage._rename_noreplace
        monkeypatch.setattr(os, "fdatasync", self.fdatasync)
        monkeypatch.setattr(os, "link", self.link)
        monkeypatch.setattr(os, "unlink", self.unlink)
        if self._rename is not None:
            monkeypatch.setattr(storage, "_rename_noreplace", self.rename)

    def fdatasync(self, descriptor: int) -> None:
        # The whole file is written (no buffer left to flush) when it is synced.
        self.calls.append(("sync", str(os.fstat(descriptor).st_size)))
        self._sync(descriptor)

    def rename(self, at: int, source: bytes, at_too: int, target: bytes, flags: int) -> int:
        assert self._rename is not None
        self.calls.append(("move", Path(os.fsdecode(source)).name, os.fsdecode(target)))
        return self._rename(at, source, at_too, target, flags)

    def link(self, source: str, target: Path) -> None:
        self.calls.append(("link", Path(source).name, str(target)))
        self._link(source, target)

    def unlink(self, path: str) -> None:
        self.calls.append(("unlink", Path(path).name))
        self._unlink(path)


def _without_renameat2(monkeypatch: pytest.MonkeyPatch, error: int) -> None:
    """renameat2 answers ``error`` (what a kernel or filesystem without the flag says)."""

    def refusing(*arguments: object) -> int:
        ctypes.set_errno(error)
        return -1

    monkeypatch.setattr(storage, "_rename_noreplace", refusing)


@pytest.mark.skipif(storage._rename_noreplace is None, reason="no renameat2 here")
def test_the_data_are_durable_before_the_final_name_exists(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _RecordingOs(monkeypatch)
    target = tmp_path / "study" / "x.dcm"
    assert store_bytes_atomically(b"0123456789", target, same=_equal) is StoreResult.WRITTEN
    (sync, move) = recorder.calls
    assert sync == ("sync", "10")
    temporary = move[1]
    assert temporary.startswith(".deid-x.dcm.") and temporary.endswith(".tmp")
    assert move == ("move", temporary, str(target))
    assert target.read_bytes() == b"0123456789"
    assert [p.name for p in target.parent.iterdir()] == ["x.dcm"]


@pytest.mark.parametrize("error", [errno.EINVAL, errno.ENOSYS, errno.EOPNOTSUPP, errno.EPERM])
def test_without_renameat2_the_temporary_is_linked_then_unlinked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, error: int
) -> None:
    recorder = _RecordingOs(monkeypatch)
    _without_renameat2(monkeypatch, error)
    target = tmp_path / "study" / "x.dcm"
    assert store_bytes_atomically(b"0123456789", target, same=_equal) is StoreResult.WRITTEN
    (sync, link, unlink) = recorder.calls
    assert sync == ("sync", "10")
    temporary = link[1]
    assert temporary.startswith(".deid-x.dcm.") and temporary.endswith(".tmp")
    assert link == ("link", temporary, str(target))
    assert unlink == ("unlink", temporary)
    assert storage._rename_noreplace is None  # asked once: link and unlink from now on
    assert store_bytes_atomically(b"0123456789", target, same=_equal) is StoreResult.ALREADY_THERE
    assert [p.name for p in target.parent.iterdir()] == ["x.dcm"]


def test_another_renameat2_failure_is_a_failed_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _without_renameat2(monkeypatch, errno.EACCES)
    with pytest.raises(PermissionError):
        store_bytes_atomically(b"abc", tmp_path / "x.dcm", same=_equal)
    assert list(tmp_path.iterdir()) == []  # the temporary is gone too


@pytest.mark.parametrize("renameat2", [True, False])
def test_an_existing_file_is_compared_not_replaced_and_the_temporary_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, renameat2: bool
) -> None:
    target = tmp_path / "x.dcm"
    target.write_bytes(b"other")
    recorder = _RecordingOs(monkeypatch)
    if not renameat2:
        _without_renameat2(monkeypatch, errno.EINVAL)
    assert store_bytes_atomically(b"mine", target, same=_equal) is StoreResult.CONFLICT
    moved = ["move"] if renameat2 and storage._rename_noreplace is not None else ["link"]
    assert [call[0] for call in recorder.calls] == ["sync", *moved, "unlink"]
    assert target.read_bytes() == b"other"
    assert [p.name for p in tmp_path.iterdir()] == ["x.dcm"]


def test_a_folder_is_made_once_per_process_and_again_when_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    made: list[str] = []
    real = os.mkdir

    def mkdir(path: str, mode: int = 0o777) -> None:
        made.append(str(path))
        real(path, mode)

    monkeypatch.setattr(os, "mkdir", mkdir)
    series = tmp_path / "study" / "series"
    assert store_bytes_atomically(b"a", series / "a.dcm", same=_equal) is StoreResult.WRITTEN
    made.clear()
    assert store_bytes_atomically(b"b", series / "b.dcm", same=_equal) is StoreResult.WRITTEN
    other = tmp_path / "study" / "other"
    assert store_bytes_atomically(b"c", other / "c.dcm", same=_equal) is StoreResult.WRITTEN
    assert made == [str(other)]  # the study folder is known: one mkdir for a new series
    shutil.rmtree(tmp_path / "study")
    assert store_bytes_atomically(b"d", series / "d.dcm", same=_equal) is StoreResult.WRITTEN
    assert sorted(p.name for p in series.iterdir()) == ["d.dcm"]


def test_a_leftover_temporary_of_the_same_name_is_left_alone(tmp_path: Path) -> None:
    # A process with this id that died earlier: O_EXCL refuses its name, the next one is used.
    stem = f".deid-x.dcm.{os.getpid()}-"
    following = next(copy(storage._sequence))
    planted = tmp_path / f"{stem}{following}.tmp"
    planted.write_bytes(b"half")
    assert store_bytes_atomically(b"whole", tmp_path / "x.dcm", same=_equal) is StoreResult.WRITTEN
    assert planted.read_bytes() == b"half"
    assert (tmp_path / "x.dcm").read_bytes() == b"whole"


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


# The background mover: the same stores, their syncs and moves on a thread of their own.


@pytest.mark.skipif(storage._rename_noreplace is None, reason="no renameat2 here")
def test_the_mover_syncs_before_it_moves_and_decides_as_the_direct_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorder = _RecordingOs(monkeypatch)
    target = tmp_path / "study" / "x.dcm"
    mover = storage.BackgroundMover()
    try:
        first = mover.store_bytes(b"0123456789", target, same=_equal)
        again = mover.store_bytes(b"0123456789", target, same=_equal)
        other = mover.store_bytes(b"other", target, same=_equal)
        results = [first.result(), again.result(), other.result()]
    finally:
        mover.close()
    assert results == [StoreResult.WRITTEN, StoreResult.ALREADY_THERE, StoreResult.CONFLICT]
    sync, move = recorder.calls[:2]
    assert sync == ("sync", "10")
    assert move == ("move", move[1], str(target))
    assert [call[0] for call in recorder.calls[2:]] == ["sync", "move", "unlink"] * 2
    assert target.read_bytes() == b"0123456789"
    assert [p.name for p in target.parent.iterdir()] == ["x.dcm"]


@pytest.mark.parametrize("failing", ["write", "fdatasync"])
def test_the_mover_hands_a_failed_write_to_the_waiter_and_leaves_no_temporary(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, failing: str
) -> None:
    def full(*arguments: object) -> None:
        raise OSError(errno.ENOSPC, "no space left")

    monkeypatch.setattr(os, failing, full)
    mover = storage.BackgroundMover()
    pending = mover.store_bytes(b"abc", tmp_path / "x.dcm", same=_equal)
    with pytest.raises(OSError, match="no space"):
        pending.result()
    mover.close()
    assert list(tmp_path.iterdir()) == []


def test_closing_the_mover_cancels_what_it_has_not_begun(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    syncing, release = threading.Event(), threading.Event()
    real = os.fdatasync

    def slow(descriptor: int) -> None:
        syncing.set()
        assert release.wait(10)
        real(descriptor)

    monkeypatch.setattr(os, "fdatasync", slow)
    mover = storage.BackgroundMover()
    begun = mover.store_bytes(b"a", tmp_path / "a.dcm", same=_equal)
    assert syncing.wait(10)
    waiting = mover.store_bytes(b"b", tmp_path / "b.dcm", same=_equal)
    closing = threading.Thread(target=mover.close)
    closing.start()
    while not mover._closing:  # close() has asked; the thread is still in the first sync
        time.sleep(0.001)
    release.set()
    closing.join(10)
    assert begun.result() is StoreResult.WRITTEN
    with pytest.raises(storage._StoreCancelled):
        waiting.result()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.dcm"]
    assert not any(thread.name == "deid-mover" for thread in threading.enumerate())
