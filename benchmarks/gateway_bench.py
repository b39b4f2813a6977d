"""The gateway's throughput against a direct transfer, in the same run.

    python benchmarks/gateway_bench.py [-n 300] [--rounds 2] [--policy annex-e/basic]

What it does:

1. writes ``N`` instances (pydicom's CT_small image under distinct patients, studies and
   UIDs: 39 kB each, what a CT series' slices weigh before tiling) into a temporary folder;
2. ``direct``: DCMTK's ``storescu`` sends them, on one association, to DCMTK's ``storescp``;
   timed from start to the exit of ``storescu`` (every instance then stored);
3. ``gateway``: ``storescu`` sends them to ``deid serve`` (started beforehand, its policy
   compiled), which de-identifies and forwards them to another ``storescp``; timed from start
   until the last de-identified instance is stored at the destination. The time ``storescu``
   itself took (every instance acknowledged, that is spooled and fsynced) is shown too;
4. rounds are interleaved (direct, gateway, direct, ...) and the fastest of each kept: on a
   shared machine interference only ever slows a run;
5. from the queue: the latency of each instance from its C-STORE response to the forwarder's
   success (median, 95th percentile, maximum).

Prints instances per second for both, the ratio (target: at least 0.5x direct with
``annex-e/basic`` on 2 cores), and the latencies. Nothing here is a test.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.serve.serve_peers import (  # noqa: E402  (the repository on the path first)
    DCMTK_ENVIRONMENT,
    Gateway,
    free_port,
    run_deid,
    storescp,
    wait_until,
    write_config,
    write_patients,
)


def _send(port: int, files: list[Path], called: str) -> float:
    start = time.perf_counter()
    subprocess.run(
        ["storescu", "-aet", "STORESCU", "-aec", called, "127.0.0.1", str(port),
         *map(str, files)],
        check=True, capture_output=True, timeout=600, env=DCMTK_ENVIRONMENT,
    )  # fmt: skip
    return time.perf_counter() - start


def _count(folder: Path) -> int:
    return sum(1 for p in folder.iterdir() if p.is_file()) if folder.is_dir() else 0


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--policy", default="annex-e/basic")
    parser.add_argument(
        "--processes", type=int, default=0, help="deidentify_processes (0: in the gateway)"
    )
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="deid-gateway-bench-") as scratch:
        root = Path(scratch)
        files = write_patients(root / "in", patients=max(1, options.n // 10), studies=2, images=5)[
            : options.n
        ]
        secret = root / "project.secret"
        run_deid("keygen", "--out", str(secret))
        direct_times, gateway_times, ack_times, latencies = [], [], [], []
        warnings: list[str] = []
        engine_waits: list[float] = []
        for round_ in range(options.rounds):
            port = free_port()
            with storescp(root / f"direct{round_}", port) as arrived:
                direct_times.append(_send(port, files, "ARCHIVE"))
                assert _count(arrived) == len(files)
            work = root / f"gateway{round_}"
            work.mkdir()
            destination = free_port()
            with storescp(work / "arrived", destination) as arrived:
                gateway_port = free_port()
                config = write_config(
                    work,
                    secret,
                    gateway_port,
                    destination,
                    deidentify_processes=options.processes,
                )
                text = config.read_text().replace("annex-e/basic", options.policy)
                config.write_text(text)
                gateway = Gateway(config, gateway_port, work / "gateway.log").start()
                try:
                    start = time.perf_counter()
                    ack_times.append(_send(gateway_port, files, "DEIDGW"))
                    wait_until(lambda: _count(arrived) >= len(files), 600, "every instance")
                    gateway_times.append(time.perf_counter() - start)
                finally:
                    gateway.stop()
                    warnings += [x for x in gateway.log_text().splitlines() if " WARNING " in x]
                with sqlite3.connect(work / "work" / "queue.sqlite") as db:
                    for r, d, f in db.execute(
                        "SELECT received_at, deidentified_at, forwarded_at FROM instances"
                    ):
                        latencies.append(float(f) - float(r))
                        engine_waits.append(float(d) - float(r))
    for line in warnings:
        print(line)
    n = len(files)
    direct, through, acked = min(direct_times), min(gateway_times), min(ack_times)
    print(
        f"{n} instances of 39 kB, policy {options.policy}, deidentify_processes "
        f"{options.processes}, fastest of {options.rounds} rounds"
    )
    print(f"{'path':<44}{'seconds':>9}{'instances/s':>13}")
    print(f"{'storescu -> storescp (direct)':<44}{direct:>9.2f}{n / direct:>13.1f}")
    print(f"{'storescu -> deid serve -> storescp':<44}{through:>9.2f}{n / through:>13.1f}")
    print(f"{'  of which storescu -> deid serve (acked)':<44}{acked:>9.2f}{n / acked:>13.1f}")
    print(f"ratio gateway / direct: {direct / through:.2f}x (target >= 0.5x)")
    print(
        "latency C-STORE response -> forwarded: "
        f"median {statistics.median(latencies) * 1000:.0f} ms, "
        f"p95 {_percentile(latencies, 0.95) * 1000:.0f} ms, "
        f"max {max(latencies) * 1000:.0f} ms"
    )
    print(
        "  of which until de-identified: "
        f"median {statistics.median(engine_waits) * 1000:.0f} ms, "
        f"p95 {_percentile(engine_waits, 0.95) * 1000:.0f} ms, "
        f"max {max(engine_waits) * 1000:.0f} ms"
    )


if __name__ == "__main__":
    main()
