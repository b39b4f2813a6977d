"""The gateway's work queue: one SQLite row per received instance, through its states.

``received`` (spooled, acknowledged) → ``deidentified`` (its output in the outbox) →
``forwarded`` (the destination answered success); or ``quarantined`` (failed closed, with the
run's reason codes) or ``skipped`` (a DICOMDIR). Every change is committed as it happens (a
write-ahead log, as the run manifest uses), so a killed gateway restarts where it stopped: rows
still ``received`` are de-identified, rows ``deidentified`` are forwarded. The ``errors`` table
keeps the last problems by reason code for ``deid serve status``.

The queue holds no identifying value: spool names are random, inputs are named by keyed
references, outputs by de-identified UIDs, errors by fixed codes.
"""

from __future__ import annotations

import enum
import sqlite3
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

__all__ = ["ErrorKind", "InstanceQueue", "QueuedInstance", "State"]


class State(enum.Enum):
    RECEIVED = "received"
    DEIDENTIFIED = "deidentified"
    FORWARDED = "forwarded"
    QUARANTINED = "quarantined"
    SKIPPED = "skipped"


class ErrorKind(enum.Enum):
    SPOOL = "spool"  # an instance could not be kept: the sender was told to retry
    ASSOCIATION = "association"  # a sender was refused
    DEIDENTIFY = "deidentify"  # quarantined, or deferred (a transient failure)
    FORWARD = "forward"  # the destination is down or refused an instance


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS instances (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    listener        TEXT NOT NULL,
    spool_name      TEXT NOT NULL,
    input_ref       TEXT,
    state           TEXT NOT NULL,
    reason          TEXT,
    detail          TEXT,
    output          TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt    REAL NOT NULL DEFAULT 0,
    last_error      TEXT,
    received_at     REAL NOT NULL,
    deidentified_at REAL,
    forwarded_at    REAL,
    UNIQUE (listener, spool_name)
);
CREATE INDEX IF NOT EXISTS instances_state ON instances (state, listener, id);
CREATE TABLE IF NOT EXISTS errors (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    time     REAL NOT NULL,
    listener TEXT NOT NULL,
    kind     TEXT NOT NULL,
    code     TEXT NOT NULL
);
"""
_COLUMNS: Final = "id, listener, spool_name, input_ref, state, output, attempts"


@dataclass(frozen=True, slots=True)
class QueuedInstance:
    id: int
    listener: str
    spool_name: str
    input_ref: str | None
    state: State
    output: str | None
    attempts: int


def _row(values: Sequence[object]) -> QueuedInstance:
    id_, listener, spool_name, input_ref, state, output, attempts = values
    return QueuedInstance(
        int(str(id_)),
        str(listener),
        str(spool_name),
        None if input_ref is None else str(input_ref),
        State(state),
        None if output is None else str(output),
        int(str(attempts)),
    )


class InstanceQueue:
    """The queue database; safe to use from many threads (one connection per thread)."""

    def __init__(self, path: Path, *, read_only: bool = False) -> None:
        self.path = path
        self._read_only = read_only
        self._local = threading.local()
        if not read_only:
            path.parent.mkdir(parents=True, exist_ok=True)
            with self._connection() as connection:
                connection.executescript(_SCHEMA)

    def _connection(self) -> sqlite3.Connection:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is None:
            if self._read_only:
                connection = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True, timeout=30)
            else:
                connection = sqlite3.connect(self.path, timeout=30)
                connection.execute("PRAGMA journal_mode=WAL")
                # A commit survives the process (kill -9); a lost machine may lose the last
                # commits, which the spool scan at start-up and idempotent re-sends repair.
                connection.execute("PRAGMA synchronous=NORMAL")
            self._local.connection = connection
        return connection

    def close(self) -> None:
        connection: sqlite3.Connection | None = getattr(self._local, "connection", None)
        if connection is not None:
            connection.close()
            self._local.connection = None

    # ------------------------------------------------------------------ receiving
    def add(self, listener: str, spool_name: str) -> int:
        """Record a spooled instance as ``received``; its row id."""
        with self._connection() as connection:
            cursor = connection.execute(
                "INSERT OR IGNORE INTO instances (listener, spool_name, state, received_at) "
                "VALUES (?, ?, ?, ?)",
                (listener, spool_name, State.RECEIVED.value, time.time()),
            )
            return int(cursor.lastrowid or 0)

    def spooled_names(self, listener: str) -> set[str]:
        """Spool names the queue still needs (rows ``received``)."""
        rows = self._connection().execute(
            "SELECT spool_name FROM instances WHERE listener = ? AND state = ?",
            (listener, State.RECEIVED.value),
        )
        return {str(name) for (name,) in rows}

    def known_names(self, listener: str, names: Iterable[str]) -> set[str]:
        """Which of ``names`` have a row (whatever its state)."""
        connection = self._connection()
        return {
            name
            for name in names
            if connection.execute(
                "SELECT 1 FROM instances WHERE listener = ? AND spool_name = ?", (listener, name)
            ).fetchone()
        }

    # ------------------------------------------------------------------ de-identifying
    def due(
        self, state: State, *, listener: str | None = None, limit: int = 64
    ) -> list[QueuedInstance]:
        """Rows in ``state`` whose next attempt is due, oldest first."""
        query = f"SELECT {_COLUMNS} FROM instances WHERE state = ? AND next_attempt <= ?"
        parameters: list[object] = [state.value, time.time()]
        if listener is not None:
            query += " AND listener = ?"
            parameters.append(listener)
        query += " ORDER BY id LIMIT ?"
        parameters.append(limit)
        return [_row(values) for values in self._connection().execute(query, parameters)]

    def count(self, state: State) -> int:
        (value,) = (
            self._connection()
            .execute("SELECT COUNT(*) FROM instances WHERE state = ?", (state.value,))
            .fetchone()
        )
        return int(value)

    def settle(
        self,
        instance_id: int,
        state: State,
        *,
        input_ref: str,
        output: str | None = None,
        reason: str | None = None,
        detail: str | None = None,
    ) -> None:
        """Record the engine's outcome for a ``received`` row."""
        with self._connection() as connection:
            connection.execute(
                "UPDATE instances SET state = ?, input_ref = ?, output = ?, reason = ?, "
                "detail = ?, deidentified_at = ?, next_attempt = 0 WHERE id = ?",
                (state.value, input_ref, output, reason, detail, time.time(), instance_id),
            )

    def defer(self, instance_id: int, code: str, delay: float) -> None:
        """A transient failure: count the attempt, try again after ``delay`` seconds."""
        with self._connection() as connection:
            connection.execute(
                "UPDATE instances SET attempts = attempts + 1, last_error = ?, "
                "next_attempt = ? WHERE id = ?",
                (code, time.time() + delay, instance_id),
            )

    # ------------------------------------------------------------------ forwarding
    def mark_forwarded(self, instance_id: int) -> None:
        with self._connection() as connection:
            connection.execute(
                "UPDATE instances SET state = ?, forwarded_at = ? WHERE id = ?",
                (State.FORWARDED.value, time.time(), instance_id),
            )

    # ------------------------------------------------------------------ errors and status
    def note_error(self, listener: str, kind: ErrorKind, code: str) -> None:
        with self._connection() as connection:
            connection.execute(
                "INSERT INTO errors (time, listener, kind, code) VALUES (?, ?, ?, ?)",
                (time.time(), listener, kind.value, code),
            )

    def prune_errors(self, older_than: float) -> None:
        """Forget problems older than ``older_than`` seconds (the status shows the last day)."""
        with self._connection() as connection:
            connection.execute("DELETE FROM errors WHERE time < ?", (time.time() - older_than,))

    def query(self, sql: str, parameters: Sequence[object] = ()) -> list[tuple[object, ...]]:
        """A read for the status report."""
        return [tuple(row) for row in self._connection().execute(sql, parameters)]
