"""``deid serve status``: what the queue says, without PHI.

Read-only over the queue database (a running gateway keeps writing): the queue depth per
listener and state, the rates of the last minute and of the last fifteen, the age of the oldest
instance still waiting, and the problems of the last day by reason code (how many, the last
time). Nothing in it names a patient, a file or a value.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Final

from deidengine.serve.config import GatewayConfig
from deidengine.serve.queue import InstanceQueue, State

__all__ = ["ErrorSummary", "GatewayStatus", "gateway_status", "render_status"]

WINDOWS: Final = {"1m": 60.0, "15m": 900.0}
ERROR_WINDOW: Final = 86400.0


@dataclass(frozen=True)
class ErrorSummary:
    listener: str
    kind: str
    code: str
    count: int
    last: float


@dataclass(frozen=True)
class GatewayStatus:
    #: listener → state → count (every state listed, zeros included)
    depth: dict[str, dict[str, int]] = field(default_factory=dict)
    #: listener → "received_1m" / "forwarded_15m" ... → instances per second
    rates: dict[str, dict[str, float]] = field(default_factory=dict)
    #: listener → seconds the oldest unfinished instance has waited (None: nothing waits)
    oldest_waiting: dict[str, float | None] = field(default_factory=dict)
    errors: tuple[ErrorSummary, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "depth": self.depth,
            "rates": self.rates,
            "oldest_waiting_seconds": self.oldest_waiting,
            "errors": [
                {
                    "listener": e.listener,
                    "kind": e.kind,
                    "code": e.code,
                    "count": e.count,
                    "last": _iso(e.last),
                }
                for e in self.errors
            ],
        }


def _iso(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def gateway_status(config: GatewayConfig, now: float | None = None) -> GatewayStatus:
    """The status of the gateway configured by ``config`` (running or not)."""
    now = time.time() if now is None else now
    path = config.gateway.queue_path
    names = [listener.name for listener in config.listener]
    depth = {name: {state.value: 0 for state in State} for name in names}
    rates: dict[str, dict[str, float]] = {name: {} for name in names}
    oldest: dict[str, float | None] = dict.fromkeys(names)
    if not path.is_file():
        return GatewayStatus(depth, rates, oldest)
    queue = InstanceQueue(path, read_only=True)
    try:
        for listener, state, count in queue.query(
            "SELECT listener, state, COUNT(*) FROM instances GROUP BY listener, state"
        ):
            depth.setdefault(str(listener), {s.value: 0 for s in State})[str(state)] = int(
                str(count)
            )
        for label, seconds in WINDOWS.items():
            for column, kind in (("received_at", "received"), ("forwarded_at", "forwarded")):
                for listener, count in queue.query(
                    f"SELECT listener, COUNT(*) FROM instances WHERE {column} >= ? "
                    "GROUP BY listener",
                    (now - seconds,),
                ):
                    rates.setdefault(str(listener), {})[f"{kind}_{label}"] = round(
                        int(str(count)) / seconds, 3
                    )
        for listener, first in queue.query(
            "SELECT listener, MIN(received_at) FROM instances WHERE state IN (?, ?) "
            "GROUP BY listener",
            (State.RECEIVED.value, State.DEIDENTIFIED.value),
        ):
            oldest[str(listener)] = round(now - float(str(first)), 1)
        errors = tuple(
            ErrorSummary(str(listener), str(kind), str(code), int(str(count)), float(str(last)))
            for listener, kind, code, count, last in queue.query(
                "SELECT listener, kind, code, COUNT(*), MAX(time) FROM errors WHERE time >= ? "
                "GROUP BY listener, kind, code ORDER BY MAX(time) DESC",
                (now - ERROR_WINDOW,),
            )
        )
    finally:
        queue.close()
    return GatewayStatus(depth, rates, oldest, errors)


def render_status(status: GatewayStatus) -> str:
    """Plain text for a terminal or a log."""
    states = [state.value for state in State]
    lines = ["listener".ljust(16) + "".join(s.rjust(14) for s in states) + "   oldest waiting"]
    for name, counts in status.depth.items():
        waiting = status.oldest_waiting.get(name)
        lines.append(
            name.ljust(16)
            + "".join(str(counts.get(s, 0)).rjust(14) for s in states)
            + ("   -" if waiting is None else f"   {waiting:.0f} s")
        )
    lines.append("")
    for name, rates in status.rates.items():
        shown = ", ".join(f"{key} {value:.2f}/s" for key, value in sorted(rates.items()))
        lines.append(f"{name}: {shown or 'no traffic in the last 15 minutes'}")
    lines.append("")
    if not status.errors:
        lines.append("no problems in the last 24 hours")
    for error in status.errors:
        lines.append(
            f"{error.listener}: {error.kind} {error.code}: {error.count} time(s), "
            f"last {_iso(error.last)}"
        )
    return "\n".join(lines)
