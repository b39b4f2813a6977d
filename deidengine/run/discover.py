"""Finding the input files of a run: one file, or every regular file under a directory.

Discovery is lazy: a recursive generator over :func:`os.scandir`, holding one sorted listing per
open directory level, never the whole tree, so a run over millions of files starts at once and
stays flat in memory. The order is deterministic (names sorted within each directory), which
makes two runs over the same tree process and audit files in the same order.

Any file name is an input, with or without ``.dcm``: DICOM files in the wild often have no
extension (``IM0001``) and the pipeline decides what is DICOM, not the file name. Symbolic links
to files are followed (the target is read); symbolic links to directories are not (they can loop,
or lead out of the tree the operator named). FIFOs, sockets and devices are never inputs:
reading them would block or never end.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Collection, Iterator
from pathlib import Path

__all__ = ["ListingErrorHandler", "discover_inputs"]

ListingErrorHandler = Callable[[Path, OSError], None]
"""Called with a directory that could not be listed and the error; discovery then moves on."""


def _raise(directory: Path, error: OSError) -> None:
    raise error


def discover_inputs(
    root: Path,
    *,
    exclude: Collection[Path] = (),
    on_error: ListingErrorHandler = _raise,
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
    """
    excluded = frozenset(Path(path).resolve() for path in exclude)
    if not root.is_dir():
        if root.is_file():
            yield root
        return
    if root.resolve() in excluded:
        return
    yield from _walk(root, excluded, on_error)


def _walk(
    directory: Path, excluded: frozenset[Path], on_error: ListingErrorHandler
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
        except OSError:
            # The entry vanished or cannot be inspected between listing and use; only regular
            # files are inputs, and this one can no longer be shown to be one.
            continue
        if descend:
            yield from _walk(path, excluded, on_error)
        elif is_input:
            yield path
