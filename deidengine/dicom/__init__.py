"""Value-level de-identification primitives for DICOM.

Every function here is a pure function over values: it knows the value representations of
PS3.5 and the keyed constructions that make replacements consistent across a project, but it
knows nothing about policies, profiles or which attribute is being treated. The engine decides
*what* to do to an element; these modules do it to the value.

Modules:

- :mod:`.keys` -- the project secret and the keyed (HMAC) functions derived from it.
- :mod:`.uids` -- registry UIDs and keyed UID remapping (action ``U``).
- :mod:`.dates` -- DA/DT/TM date shifting, keep-year, ages (AS).
- :mod:`.dummies` -- dummy values valid for a VR (action ``D``).
- :mod:`.pseudonyms` -- keyed pseudonyms, keyed hashes, ZIP truncation.
- :mod:`.identifiers` -- the deny-list of identifying values collected from an input dataset.
- :mod:`.scrub` -- finding and masking identifying text (action ``C`` on text).
- :mod:`.vr` -- value representation facts (maximum lengths, character repertoires).
"""
