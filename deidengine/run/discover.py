"""Finding the input files of a run: one file, or every regular file under a directory.

Discovery is lazy: a recursive generator over :func:`os.scandir`, holding one sorted listing per
open directory level, never the whole tree, so a run over millions of files starts at once and
stays flat in memory. The order is deterministic (names sorted within each directory), which
makes two runs over the same tree process and audit files in the same order.

Any file name is an input, with or without ``.dcm``: DICOM files in the wild often have no
extension (``IM0001``) and the pipeline decides what is DICOM, not the file name. Symbolic links
to files inside the tree are followed (the target is read); a link to a file outside it is
followed only when the caller asks (``follow_links``; ``deid run --follow-links``), else it is
handed to ``on_skip``: a link to ``/etc/passwd`` or to another patient's file must not put that
file into the quarantine or the output. Symbolic links to directories are never followed (they
can loop, or lead out of the tree the operator named). FIFOs, sockets and devices are never
inputs: reading them would block or never end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

__all__ = ["ListingErrorHandler", "SkipHandler", "discover_inputs"]

ListingErrorHandler = Callable[[Path, OSError], None]
"""Called with a directory that could not be listed and the error; discovery then moves on."""

SkipHandler = Callable[[Path], None]
"""Called with a symbolic link that leads out of the tree and is not followed."""


def _ignore(path: Path) -> None:
    return None


def _raise(directory: Path, error: OSError) -> None:
    raise error


def discover_inputs(
    root: Path,
    *,
    exclude: Collection[Path] = (),
    on_error: ListingErrorHandler = _raise,
    follow_links: bool = True,
    on_skip: SkipHandler = _ignore,
) -> Iterator[Path]:
    """Yield every input file under ``root`` (or ``root`` itself when it is a file), lazily.

    Args:
        root: a file or a directory. A directory is walked depth-first, entries sorted by name
            within each directory, without following symbolic links to directories.
        exclude: directories never to descend into (the output and quarantine roots, should
            they lie inside ``root``; :func:`deidengine.run.layout.check_roots` refuses such
            layouts, this is the second line of defence). Compared after resolving links.
        on_error: called with a directory that cannot be listed (permissions, vanished) and the
            :class:`OSError`; the default re-raises. The runner records such directories so a
            silently missing subtree can never look like a clean run.
        follow_links: read symbolic links to files outside ``root`` (the run passes False
            unless ``--follow-links``); links inside ``root`` are always read.
        on_skip: called with every link to a file outside ``root`` that is not followed.
    """
    excluded = frozenset(Path(path).resolve() for path in exclude)
    if not root.is_dir():
        if root.is_file():
            yield root
        return
    if root.resolve() in excluded:
        return
    outside = None if follow_links else _LinkGuard(root.resolve(), on_skip)
    yield from _walk(root, excluded, on_error, outside)


class _LinkGuard:
    """Tells links that lead out of the tree (and reports them) from those that do not."""

    def __init__(self, root: Path, on_skip: SkipHandler) -> None:
        self.root = root
        self.on_skip = on_skip

    def leaves(self, path: Path) -> bool:
        target = path.resolve()
        if self.root in target.parents:
            return False
        self.on_skip(path)
        return True


def _walk(
    directory: Path,
    excluded: frozenset[Path],
    on_error: ListingErrorHandler,
    outside: _LinkGuard | None = None,
) -> Iterator[Path]:
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as error:
        on_error(directory, error)
        return
    for entry in entries:
        path = Path(entry.path)
        try:
            is_directory = entry.is_dir(follow_symlinks=False)
            is_input = not is_directory and entry.is_file(follow_symlinks=True)
            descend = is_directory and path.resolve() not in excluded
            if is_input and outside is not None and entry.is_symlink():
                is_input = not outside.leaves(path)
        except OSError:
            # The entry vanished or cannot be inspected between listing and use; only regular
            # files are inputs, and this one can no longer be shown to be one.
            continue
        if descend:
            yield from _walk(path, excluded, on_error, outside)
        elif is_input:
            yield path
