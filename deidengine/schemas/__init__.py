"""Pydantic models of every JSON document deidengine writes or reads, one module per family.

- :mod:`~deidengine.schemas.policy`: ``deid policy list``, ``check``, ``explain`` and
  ``compile``;
- :mod:`~deidengine.schemas.detect`: ``deid detect --format json``;
- :mod:`~deidengine.schemas.verify`: ``deid verify --format json``;
- :mod:`~deidengine.schemas.audit`: the run's audit (one record per JSON line) and the run
  summary its last line carries;
- :mod:`~deidengine.schemas.quarantine`: the quarantine's reason records and
  ``deid quarantine list --format json``;
- :mod:`~deidengine.schemas.serve`: ``deid serve status --format json`` (the gateway's audit
  lines are in :mod:`~deidengine.schemas.audit`).

:mod:`~deidengine.schemas.generate` writes their JSON Schemas into ``docs/schemas/``
(``python -m deidengine.schemas``). Nothing is imported here: pydantic costs a few hundred
milliseconds of start-up, which commands that do not write these documents must not pay.
"""
