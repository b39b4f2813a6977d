"""``deid serve``: a DICOM de-identification gateway (receive → de-identify → forward).

One module per job: :mod:`.config` (the TOML file and its pydantic models), :mod:`.spool`
(received instances made durable), :mod:`.queue` (the SQLite work queue), :mod:`.scp` (the
Storage SCP), :mod:`.worker` (the engine's pipeline over the queue), :mod:`.scu` (the Storage
SCU forwarding to the destination), :mod:`.status` (what ``deid serve status`` reports) and
:mod:`.app` (start, signals, drain). See docs/gateway.md.
"""
