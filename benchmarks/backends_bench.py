"""Benchmark the server-side backends against their loopback stand-ins: requests and time.

Run from the repository root: `python benchmarks/backends_bench.py [--meetings 100] [--repeat 3]`.
The stand-ins (tests/graph_server.py, tests/ews_server.py) speak the protocols and count what they
receive; Dovecot (tests/imap_server.py) is the real IMAP server. What is measured, per repeat on a
fresh server:
- graph: N invitations with a 20 KB prep file each through `GraphBackend.send_batch` ($batch calls,
  HTTP requests, seconds); free/busy for 100 people over 6 weeks (getSchedule calls);
- ews: the same N invitations through `EwsBackend.send_batch` over NTLM, at chunk sizes 20 and 50
  (SOAP requests); free/busy for 100 people over 6 weeks (SOAP requests);
- imap: fetching N replies with one .xlsx each from Dovecot and moving them (IMAP commands, seconds).
The times are loopback times: they show our own overhead (JSON/SOAP/MIME building, exchangelib),
not what a real Exchange or Microsoft 365 adds (network, throttling: 4 concurrent requests and
30 messages a minute per mailbox in Exchange Online).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from backend_kit import MANAGER, START, contract_meeting  # noqa: E402

from samtale_automation.domain.messages import Attachment, Job, Meeting, Person  # noqa: E402

PREP = Attachment("Ansatt - forberedelse.xlsx", bytes(range(256)) * 80)  # 20 KB


def meetings(count: int) -> list[Meeting]:
    """`count` conversations, each with its own employee and the prep file."""
    return [replace(contract_meeting(), key=f"2027-{n:04}", uid=f"samtale-2027-{n:04}@fjordlys.example",
                    attendees=(Person(f"ansatt{n}@fjordlys.example", f"Ansatt {n}"), MANAGER),
                    start=START + timedelta(days=n // 6, hours=n % 6),
                    end=START + timedelta(days=n // 6, hours=n % 6 + 1), attachments=(PREP,))
            for n in range(count)]


def send_all(backend: object, jobs: list[Job]) -> None:
    """Send in the backend's batches, as dispatch does."""
    size = backend.batch_size  # type: ignore[attr-defined]
    for first in range(0, len(jobs), size):
        results = backend.send_batch(jobs[first:first + size])  # type: ignore[attr-defined]
        assert all(not r.failures for r in results)


def timed(run: Callable[[], dict[str, int]], repeat: int) -> tuple[float, dict[str, int]]:
    """Median seconds over `repeat` runs, and the counts of the last one."""
    times, counts = [], {}
    for _ in range(repeat):
        began = time.perf_counter()
        counts = run()
        times.append(time.perf_counter() - began)
    return statistics.median(times), counts


def people(count: int) -> list[str]:
    """Addresses for free/busy."""
    return [f"ansatt{n}@fjordlys.example" for n in range(count)]


def graph_invites(count: int) -> dict[str, int]:
    """N invitations through the Graph stand-in."""
    from graph_server import GraphServer, static_backend

    server = GraphServer().start()
    try:
        backend = static_backend(server)
        send_all(backend, [Job(m.attendees, meeting=m) for m in meetings(count)])
        return {"$batch": server.counts["$batch"], "HTTP requests": server.http_requests}
    finally:
        server.stop()


def graph_free_busy() -> dict[str, int]:
    """Free/busy for 100 people over 6 weeks through the Graph stand-in."""
    from graph_server import GraphServer, static_backend

    server = GraphServer().start()
    try:
        static_backend(server).free_busy(people(100), START, START + timedelta(weeks=6))
        return {"getSchedule": server.counts["getSchedule"], "HTTP requests": server.http_requests}
    finally:
        server.stop()


def ews_invites(count: int, chunk_size: int) -> dict[str, int]:
    """N invitations through the EWS stand-in behind NTLM."""
    from ews_server import EwsStandIn
    from test_ews import PASSWORD, USER

    with tempfile.TemporaryDirectory() as tmp, EwsStandIn(Path(tmp), {USER: PASSWORD}) as server:
        backend = server.backend(chunk_size=chunk_size)
        send_all(backend, [Job(m.attendees, meeting=m) for m in meetings(count)])
        backend.close()
        return {"SOAP requests": server.soap_requests()}


def ews_free_busy() -> dict[str, int]:
    """Free/busy for 100 people over 6 weeks through the EWS stand-in."""
    from ews_server import EwsStandIn
    from test_ews import PASSWORD, USER

    with tempfile.TemporaryDirectory() as tmp, EwsStandIn(Path(tmp), {USER: PASSWORD}) as server:
        backend = server.backend()
        backend.free_busy(people(100), START, START + timedelta(weeks=6))
        backend.close()
        return {"SOAP requests": server.soap_requests()}


def imap_fetch(count: int) -> dict[str, int]:
    """Fetch and move N replies from Dovecot."""
    from imap_server import contract_kit

    with tempfile.TemporaryDirectory() as tmp, contract_kit(Path(tmp)) as kit:
        assert kit.add_reply is not None
        for n in range(count):
            kit.add_reply(f"ansatt{n}@fjordlys.example", "SV: Medarbeidersamtale", [(f"{n} svar.xlsx", PREP.content)])
        began = time.perf_counter()
        files = list(kit.backend.fetch_files())
        for found in files:
            kit.backend.mark_handled(found.message_id)
        elapsed = time.perf_counter() - began
        assert len(files) == count
        commands = kit.backend.stats.extra.get("imap_commands", 0)
        kit.backend.close()
        return {"IMAP commands": commands, "ms": round(elapsed * 1000)}


def main() -> None:
    """Run each measurement and print a table row per case."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--meetings", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    n = args.meetings
    cases: list[tuple[str, Callable[[], dict[str, int]]]] = [
        (f"graph: {n} invitations with a file", lambda: graph_invites(n)),
        ("graph: free/busy 100 people × 6 weeks", graph_free_busy),
        (f"ews: {n} invitations with a file, chunk 20", lambda: ews_invites(n, 20)),
        (f"ews: {n} invitations with a file, chunk 50", lambda: ews_invites(n, 50)),
        ("ews: free/busy 100 people × 6 weeks", ews_free_busy),
        (f"imap: fetch and move {n} replies", lambda: imap_fetch(n)),
    ]
    print(f"{'case':<46} {'median s':>9} {'per item ms':>12}  counts")
    for name, run in cases:
        seconds, counts = timed(run, args.repeat)
        per_item = seconds * 1000 / n if "invitations" in name or "imap" in name else float("nan")
        print(f"{name:<46} {seconds:>9.2f} {per_item:>12.1f}  {counts}")


if __name__ == "__main__":
    main()
