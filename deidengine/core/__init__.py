"""The engine's lean core: one reader, one element table, one writer (issue #16).

Every input read whole (up to 4 MiB) is read through it and admitted on its table; on the lean
path (:mod:`deidengine.run.lean_path`) the input facts, the header stage and the stamp work on
the table and :mod:`.writer` writes the output; the verifier reads every output through it.

- :mod:`.reader` parses a file's bytes once into an :class:`~.table.ElementTable`: flat rows
  (tag, VR, value offset and length, depth, parent item, private creator) over the bytes, no
  pydicom ``Dataset`` built.
- :mod:`.dataset_view` builds from a table the pydicom ``Dataset`` ``dcmread`` gives for the
  same bytes, so a file is parsed once even where pydicom's objects are needed.
- :mod:`.values` decodes a row's value only when asked (text through pydicom's character
  sets, numbers through :mod:`struct`).
- :mod:`.writer` encodes a table, with values replaced, rows removed and elements added, back
  to the bytes pydicom's ``dcmwrite`` writes for the same content.
- :mod:`.dictionary` gives the VRs the header does not (implicit VR, explicit UN, private).
- :mod:`.errors` is the one exception root, with stable codes.

pydicom stays the authority: tests/core holds the reader to pydicom's reading of every
bundled file and of thousands of damaged ones, and the writer to ``dcmwrite``'s bytes.
"""
