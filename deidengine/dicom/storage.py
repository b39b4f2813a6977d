"""Write a file atomically and durably: a temporary file in the target's folder, synced, then
moved under its final name, never over an existing file.

The order, and why each step is there:

1. The folder is made if missing (each process remembers the folders it made or found, so a
   series of many files costs one ``mkdir``, and a new study folder two, not one per parent up
   the tree).
2. A temporary file is created beside the target (``O_EXCL``, mode 0600; its name holds the
   target's name, so a run sweeps only its own leftovers: see
   :func:`deidengine.run.manifest.remove_stale_temporaries`), and the bytes are written to it.
3. Its data are made durable (``fdatasync``: the data and the size that reads them back, which
   is all a new file needs; ``fsync`` where there is no ``fdatasync``).
4. It is moved under the final name with ``renameat2(RENAME_NOREPLACE)``, which never replaces
   an existing file: two inputs that map to one output, or a resumed run, find the file there
   and decide what that means (``same``). Where the kernel or the filesystem does not offer
   that flag, the temporary is linked under the final name (a link never replaces a file
   either) and its own name removed: the same guarantees in two directory operations instead
   of one.

What a crash leaves:

- A process killed anywhere: at most a temporary file (swept by the next run); the final name
  exists only once its bytes were all written (the move comes after the write).
- A power cut or kernel crash: the final name, if the move survived, holds the whole file,
  since its data were durable before the move was made (step 3 before 4). Without that step a
  name can survive a crash while the data it names do not: ext4 and others allocate a file's
  blocks only at write-back, so the file comes back empty under its final name, which the next
  run would take for a different file (a conflict). The move itself is not synced: one lost in
  a crash only means the output is missing (its temporary is swept), and the run manifest,
  which records an output as written only after this function has returned, checks that the
  output is still in place before it skips its input
  (:meth:`deidengine.run.manifest.RunManifest.done`). So the manifest never claims a file whose
  bytes can be lost, and never needs a folder sync.

Why not cheaper: the data sync is most of this function's cost (measured on ext4: 0.3 ms to
several ms, depending on what else the disk is writing, against about 0.1 ms for everything
else). Deferring the sync, to sync a whole batch with one ``syncfs`` before the manifest
records the batch, keeps the manifest honest but loses step 3's guarantee (an empty file under
a final name after a power cut), and ``syncfs`` waits for every other writer on the
filesystem too. Nor is the sync overlapped with verification by writing the temporary first:
only verified bytes may reach the disk (a crash would leave unverified ones in the output
tree).

What is done instead: the waits are moved off the caller's path, not removed.
:class:`BackgroundMover` makes the whole store (this function, unchanged) on a thread of its
own, in the order the stores were asked for, while the caller reads and de-identifies its next
file; the caller waits for a store's :class:`PendingStore` before it reports that file. Each
file is still synced before its final name exists and never moved over another file; only the
moment the caller learns the outcome moves.
An unnamed ``O_TMPFILE`` instead of a named temporary saved nothing measurable.

The bytes are :func:`~deidengine.dicom.encode.write_file`'s (what pydicom's ``dcmwrite``
writes, faster for elements still raw), streamed to the file, or given whole
(:func:`store_bytes_atomically`: the pipeline writes exactly the bytes it verified, with one
``write`` on the descriptor: no buffered stream, whose set-up costs three system calls).
"""

from __future__ import annotations

import _thread
import contextlib
import enum
import errno
import itertools
import os
import queue
import threading
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO, Final

from pydicom.dataset import Dataset

from deidengine.dicom.encode import write_file

__all__ = [
    "BackgroundMover",
    "PendingStore",
    "StoreResult",
    "store_atomically",
    "store_bytes_atomically",
]


class StoreResult(enum.Enum):
    WRITTEN = "written"
    ALREADY_THERE = "already-there"  # an equal file exists (``same`` said so)
    CONFLICT = "conflict"  # a different file exists; it was left alone


_CREATE_FLAGS: Final = (
    os.O_WRONLY
    | os.O_CREAT
    | os.O_EXCL
    | getattr(os, "O_NOFOLLOW", 0)
    | getattr(os, "O_CLOEXEC", 0)
    | getattr(os, "O_BINARY", 0)
)
_TEMPORARY_ATTEMPTS: Final = 100
_AT_FDCWD: Final = -100
_RENAME_NOREPLACE: Final = 1
# What renameat2 answers where the kernel, the C library or the filesystem lacks the flag, or
# a container's system-call filter refuses the call (EPERM: where that is a real refusal, the
# link that is tried instead fails the same way, and says so).
_NO_RENAME_NOREPLACE: Final = frozenset(
    {
        errno.EINVAL,
        errno.ENOSYS,
        errno.EOPNOTSUPP,
        getattr(errno, "ENOTSUP", errno.EOPNOTSUPP),
        errno.EPERM,
    }
)

# The folders this process made or found: their mkdir is skipped. A folder removed behind the
# process's back is made again (see _open_temporary).
_folders: set[str] = set()
# Temporary names: this process's id and a count, made unique on the disk by O_EXCL. The id
# is kept (getpid is a system call) and taken again in a forked child.
_sequence = itertools.count()
_pid = os.getpid()


def _forked() -> None:
    global _pid
    _pid = os.getpid()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forked)


def _renameat2() -> Callable[..., int] | None:
    """glibc's ``renameat2``, or None (another platform, an older C library)."""
    if not hasattr(os, "fdatasync"):  # not Linux: renameat2 is Linux's
        return None
    try:
        import ctypes

        function = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    function.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p)
    function.argtypes += (ctypes.c_uint,)
    function.restype = ctypes.c_int
    return function


_rename_noreplace: Callable[..., int] | None = _renameat2()


def _identical(mine: Path, theirs: Path) -> bool:
    return mine.read_bytes() == theirs.read_bytes()


def _make_durable(descriptor: int) -> None:
    """The file's data and the size that reads them back, on disk: ``fdatasync`` (which skips
    times and other metadata a new file's content does not need), ``fsync`` where it is
    missing."""
    sync = getattr(os, "fdatasync", None) or os.fsync
    sync(descriptor)


def _make_folder(folder: Path) -> None:
    """``folder.mkdir(parents=True, exist_ok=True)``, skipping the folders already made or
    found by this process."""
    name = str(folder)
    if name in _folders:
        return
    parent = folder.parent
    if parent != folder and str(parent) not in _folders:
        _make_folder(parent)
    try:
        os.mkdir(name)
    except FileExistsError:
        if not os.path.isdir(name):
            raise
    _folders.add(name)


def _open_temporary(target: Path, prefix: str) -> tuple[int, str]:
    """A new temporary file beside ``target`` (made with its folder if missing): its
    descriptor and path."""
    folder = target.parent
    _make_folder(folder)
    stem = os.path.join(str(folder), f"{prefix}{target.name}.{_pid}-")
    for attempt in range(_TEMPORARY_ATTEMPTS):
        temporary = f"{stem}{next(_sequence)}.tmp"
        try:
            return os.open(temporary, _CREATE_FLAGS, 0o600), temporary
        except FileExistsError:
            continue  # a leftover of an earlier process with this id
        except FileNotFoundError:
            if attempt:
                raise
            # A remembered folder was removed: forget them all and make it again.
            _folders.clear()
            _make_folder(folder)
    raise FileExistsError(errno.EEXIST, "no free temporary name", stem)


def _move_without_replacing(temporary: str, target: Path) -> None:
    """Give ``temporary``'s file the name ``target`` and take its own name away; raises
    FileExistsError, changing nothing, if ``target`` exists."""
    global _rename_noreplace
    rename = _rename_noreplace
    if rename is not None:
        source, destination = os.fsencode(temporary), os.fsencode(target)
        if rename(_AT_FDCWD, source, _AT_FDCWD, destination, _RENAME_NOREPLACE) == 0:
            return
        import ctypes

        number = ctypes.get_errno()
        if number not in _NO_RENAME_NOREPLACE:
            raise OSError(number, os.strerror(number), str(target))
        _rename_noreplace = None  # not here: link and unlink from now on
    os.link(temporary, target)
    os.unlink(temporary)


def _store_with(
    fill: Callable[[int], None],
    target: Path,
    same: Callable[[str], bool],
    prefix: str,
) -> StoreResult:
    descriptor, temporary = _open_temporary(target, prefix)
    moved = False
    try:
        try:
            fill(descriptor)
            _make_durable(descriptor)  # before the move: see the module doc
        finally:
            os.close(descriptor)
        try:
            _move_without_replacing(temporary, target)
        except FileExistsError:
            return StoreResult.ALREADY_THERE if same(temporary) else StoreResult.CONFLICT
        moved = True
        return StoreResult.WRITTEN
    finally:
        if not moved:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)


def _store(
    write: Callable[[BinaryIO], None],
    target: Path,
    same: Callable[[Path, Path], bool],
    prefix: str,
) -> StoreResult:
    """Store what ``write`` writes to a stream."""

    def fill(descriptor: int) -> None:
        with open(descriptor, "wb", closefd=False) as stream:
            write(stream)

    return _store_with(fill, target, lambda temporary: same(Path(temporary), target), prefix)


def store_atomically(
    dataset: Dataset,
    target: Path,
    *,
    same: Callable[[Path, Path], bool] = _identical,
    prefix: str = ".deid-",
) -> StoreResult:
    """Write ``dataset`` to ``target`` as a DICOM file, never leaving a partial file there."""
    return _store(lambda stream: write_file(dataset, stream), target, same, prefix)


def store_bytes_atomically(
    data: bytes,
    target: Path,
    *,
    same: Callable[[bytes, Path], bool],
    prefix: str = ".deid-",
) -> StoreResult:
    """Write ``data`` (a whole file, already encoded) to ``target`` as :func:`store_atomically`
    does; ``same(data, target)`` says whether an existing file counts as this one."""

    def fill(descriptor: int) -> None:
        view = memoryview(data)
        while view:
            view = view[os.write(descriptor, view) :]

    return _store_with(fill, target, lambda _: same(data, target), prefix)


class PendingStore:
    """A store a :class:`BackgroundMover` makes; :meth:`result` waits for it."""

    __slots__ = ("_data", "_done", "_error", "_prefix", "_result", "_same", "_target")

    def __init__(
        self, data: bytes, target: Path, same: Callable[[bytes, Path], bool], prefix: str
    ) -> None:
        self._data: bytes | None = data
        self._target, self._same, self._prefix = target, same, prefix
        self._result: StoreResult | None = None
        self._error: BaseException | None = None
        # Held until the store has ended: a bare lock is the cheapest wait there is.
        self._done = _thread.allocate_lock()
        self._done.acquire()

    def _store(self) -> None:
        data, self._data = self._data, None  # not held once written
        assert data is not None
        try:
            self._result = store_bytes_atomically(
                data, self._target, same=self._same, prefix=self._prefix
            )
        except BaseException as error:  # handed to the waiter, whatever it is
            self._error = error
        finally:
            self._done.release()

    def _cancel(self) -> None:
        """Never begun, so nothing was created (the mover is closing)."""
        self._data = None
        self._error = _StoreCancelled(errno.ECANCELED, "the store was cancelled")
        self._done.release()

    def result(self) -> StoreResult:
        """What :func:`store_bytes_atomically` returned (or raised) for this store."""
        with self._done:
            pass
        if self._error is not None:
            raise self._error
        assert self._result is not None
        return self._result


class _StoreCancelled(OSError):
    """The mover closed before this store began; nothing was created."""


class BackgroundMover:
    """Makes stores on a thread of its own, in the order given, while the caller goes on.

    Each store is :func:`store_bytes_atomically`'s, whole: the folder, the temporary, its
    write, the sync and the move, with the same guarantees (the final name exists only once
    the data are durable, and never replaces a file) and the same result or error, handed to
    the caller by :meth:`PendingStore.result`. The thread does every file system call of the
    write because each can wait for the disk: the sync, and on a file system whose pages
    under write-back may not change (stable pages), the folder and the temporary's creation
    too, waiting for the previous file's sync (measured: moving only the sync and the move
    left 0.4 ms a file of such waits in ``mkdir`` and ``open``). The thread starts with the
    first store; :meth:`close` cancels the stores not yet begun and waits for the one under
    way. A process must not fork while the thread runs (see
    :func:`deidengine.run.executor.fork_is_safe`): the run's own process, when it is the one
    worker, closes its mover when its files end (pool workers write in line: see
    :mod:`deidengine.run.executor`).
    """

    def __init__(self) -> None:
        self._queue: queue.SimpleQueue[PendingStore | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._closing = False

    def store_bytes(
        self,
        data: bytes,
        target: Path,
        *,
        same: Callable[[bytes, Path], bool],
        prefix: str = ".deid-",
    ) -> PendingStore:
        """:func:`store_bytes_atomically` on the thread; never raises."""
        pending = PendingStore(data, target, same, prefix)
        if self._thread is None:
            self._closing = False
            self._thread = threading.Thread(target=self._run, name="deid-mover", daemon=True)
            self._thread.start()
        self._queue.put(pending)
        return pending

    def _run(self) -> None:
        while (pending := self._queue.get()) is not None:
            if self._closing:
                pending._cancel()
            else:
                pending._store()

    def close(self) -> None:
        """Cancel the stores not begun, wait for the one under way, stop the thread."""
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._closing = True
        self._queue.put(None)
        thread.join()
