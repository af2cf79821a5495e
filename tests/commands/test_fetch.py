"""`collect --from-mailbox`: returned files fetched from a real IMAP server (Dovecot on loopback).

The sender must be the employee or the manager of the conversation the file belongs to, else the
file is quarantined with that reason; a message moves to the done folder only after all its files
are on disk; a crash in between fetches it again and the copy is recognised, never counted twice.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from backend_kit import Kit
from folders import make_folder
from imap_server import contract_kit

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.fetch import (
    ALREADY_HERE,
    LEFT_OUT,
    NOT_STORED,
    TO_INCOMING,
    TO_QUARANTINE,
    fetch_from_mailbox,
)
from samtale_automation.commands.prep import run_prep
from samtale_automation.commands.workspace import Workspace
from samtale_automation.paths import INCOMING_DIR, QUARANTINE_DIR
from samtale_automation.plans.consolidate import ACCEPTED
from samtale_automation.prepfile.fill import fill_employee

pytestmark = pytest.mark.usefixtures("nb_messages")  # reasons are asserted in Norwegian

BJORN = "bjorn@firma.example"  # employee 2, conversation 2027-2
ASE = "ase@firma.example"  # manager 1
STRANGER = "noen@annet.example"


@pytest.fixture
def kit(tmp_path: Path) -> Iterator[Kit]:
    """The smtp backend reading a real IMAP mailbox."""
    with contract_kit(tmp_path / "peer") as made:
        yield made
        made.backend.close()


def returned_file(ws: Workspace, employee_id: str, tmp_path: Path, note: str = "Fra e-post.") -> tuple[str, bytes]:
    """A filled-in prep file of this employee, as the employee would mail it back."""
    run_prep(ws, [employee_id], who="test")
    source = next((ws.folder.root / "forberedelse").rglob(f"{employee_id} * - forberedelse.xlsx"))
    out = tmp_path / note / source.name
    out.parent.mkdir()
    fill_employee(source, out, chosen=["S01", "S02"], notes={"S01": note})
    return source.name, out.read_bytes()


def disk_full_for(content: bytes, monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Make the disk refuse exactly this content (ENOSPC) when fetch writes it; the real writer, to undo it."""
    import errno

    from samtale_automation.commands import fetch

    real_write = fetch.write_private

    def full(target: Path, data: bytes, **kw: object) -> None:
        if data == content:
            raise OSError(errno.ENOSPC, "No space left on device")
        real_write(target, data)
    monkeypatch.setattr(fetch, "write_private", full)
    return real_write


def test_files_from_the_right_people_are_collected_others_quarantined(kit: Kit, tmp_path: Path,
                                                                     nb_messages: None) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    _, forged = returned_file(ws, "2", tmp_path, "Skrevet av en annen.")
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: Medarbeidersamtale", [(name, data)])
    kit.add_reply(STRANGER, "Fwd: skjema", [(name, forged)])

    dry = fetch_from_mailbox(ws, kit.backend, dry_run=True)
    assert [(f.sender.casefold(), f.outcome) for f in dry.files] == [(BJORN, TO_INCOMING), (STRANGER, TO_QUARANTINE)]
    assert not list((ws.folder.root / INCOMING_DIR).iterdir()) and dry.handled_messages == 0

    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [(f.sender.casefold(), f.outcome) for f in fetched.files] == [(BJORN, TO_INCOMING),
                                                                         (STRANGER, TO_QUARANTINE)]
    assert fetched.handled_messages == 2
    assert (ws.folder.root / INCOMING_DIR / name).read_bytes() == data
    quarantined = fetched.files[1].path
    assert quarantined is not None and quarantined.parent == ws.folder.root / QUARANTINE_DIR
    assert quarantined.read_bytes() == forged
    note = quarantined.with_name(quarantined.name + ".txt").read_text(encoding="utf-8")
    assert STRANGER in note and "verken er medarbeideren eller lederen" in note and "2027-2" in note
    assert list(kit.backend.fetch_files()) == []  # both messages moved to the done folder

    collected = run_collect(ws)
    assert collected.plan is not None
    assert [d.outcome for d in collected.plan.decisions] == [ACCEPTED]
    assert ws.load().conversations["2027-2"].prep_returned is not None


def test_the_manager_may_send_the_employees_file(kit: Kit, tmp_path: Path) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    assert kit.add_reply is not None
    kit.add_reply(ASE.upper(), "Fwd: Bjørns skjema", [(name, data)])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [TO_INCOMING]


def test_a_crash_before_the_message_is_moved_loses_nothing_and_counts_once(kit: Kit, tmp_path: Path) -> None:
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: Medarbeidersamtale", [(name, data)])

    class Crash(BaseException):
        pass

    real_mark = kit.backend.mark_handled

    def crash(message_id: str) -> None:
        raise Crash(message_id)
    kit.backend.mark_handled = crash  # type: ignore[method-assign]  # the process dies right here
    with pytest.raises(Crash):
        fetch_from_mailbox(ws, kit.backend)
    kit.backend.mark_handled = real_mark  # type: ignore[method-assign]
    assert (ws.folder.root / INCOMING_DIR / name).read_bytes() == data  # safely on disk before the crash

    again = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in again.files] == [ALREADY_HERE] and again.handled_messages == 1
    assert [p.name for p in (ws.folder.root / INCOMING_DIR).iterdir()] == [name]
    assert list(kit.backend.fetch_files()) == []
    run_collect(ws)
    kit.add_reply(BJORN, "SV: igjen", [(name, data)])  # the same file mailed once more after collect
    late = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in late.files] == [ALREADY_HERE]
    assert not list((ws.folder.root / INCOMING_DIR).iterdir())


def test_cli_from_mailbox_with_the_outbox_says_what_to_do(tmp_path: Path) -> None:
    from folders import samtale

    ws = make_folder(tmp_path / "f")
    result = samtale("--dir", str(ws.folder.root), "collect", "--from-mailbox", env={"SAMTALE_LANG": "nb"})
    assert result.returncode == 2
    assert "leser ingen postkasse" in result.stderr and "imap_host" in result.stderr


# ---- hostile mail: names, storage, lock files, the server's verdict -----------------------------------


def test_an_emoji_name_is_stored_safely_and_the_messages_behind_it_are_read(kit: Kit, tmp_path: Path) -> None:
    """A 120-emoji attachment name (480 UTF-8 bytes, past every file system's limit) is stored under a safe
    name; its message moves on, the reply behind it is read, and collect records both."""
    ws = make_folder(tmp_path / "f")
    _, data = returned_file(ws, "2", tmp_path)
    name = "\U0001F600" * 120 + ".xlsx"
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: 😀", [(name, data)])
    kit.add_reply(ASE, "SV: min", [("leder.xlsx", returned_file(ws, "2", tmp_path, "Lederens kopi.")[1])])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [TO_INCOMING, TO_INCOMING] and fetched.handled_messages == 2
    stored = fetched.files[0].path
    assert stored is not None and stored.read_bytes() == data
    assert len(stored.name.encode("utf-8")) <= 200 and len(stored.name.encode("utf-16-le")) // 2 <= 120
    assert stored.name.endswith(".xlsx") and stored.name.startswith("\U0001F600")
    assert list(kit.backend.fetch_files()) == []
    collected = run_collect(ws)
    assert collected.plan is not None
    assert [d.outcome for d in collected.plan.decisions] == [ACCEPTED, ACCEPTED]


def test_an_attachment_the_disk_refuses_under_its_name_is_quarantined_plainly(
        kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A name the file system still refuses: the bytes go to karantene/ as «<time> vedlegg-<sha>.xlsx» with a note
    naming the original, the message moves on, and the next message is fetched as usual."""
    import errno

    from samtale_automation.commands import fetch

    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    real_write = fetch.write_private

    def refusing(target: Path, content: bytes, **kw: object) -> None:
        if "skummelt" in target.name:  # as a file system refusing this one name would
            raise OSError(errno.ENAMETOOLONG, "File name too long")
        real_write(target, content)
    monkeypatch.setattr(fetch, "write_private", refusing)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: 1", [("skummelt.xlsx", data)])
    kit.add_reply(BJORN, "SV: 2", [(name, data[:-1] + b"\x00")])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [TO_QUARANTINE, TO_INCOMING] and fetched.handled_messages == 2
    plain = fetched.files[0].path
    assert plain is not None and plain.parent == ws.folder.root / QUARANTINE_DIR and plain.read_bytes() == data
    assert " vedlegg-" in plain.name and plain.name.endswith(".xlsx")
    note = plain.with_name(plain.name + ".txt").read_text(encoding="utf-8")
    assert "«skummelt.xlsx» kunne ikke lagres under navnet sitt (File name too long)" in note
    assert list(kit.backend.fetch_files()) == []


def test_when_a_file_cannot_be_stored_at_all_its_message_waits_and_the_others_move_on(
        kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A full disk for one file: that message stays in the mailbox (fetched again next run), the message
    behind it is stored and moved; nothing is lost."""
    from samtale_automation.commands import fetch

    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    big = data + b"\x00" * 10
    real_write = disk_full_for(big, monkeypatch)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: stor", [("stor.xlsx", big)])
    kit.add_reply(BJORN, "SV: vanlig", [(name, data)])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [NOT_STORED, TO_INCOMING]
    assert (fetched.handled_messages, fetched.kept_messages) == (1, 1)
    assert "No space left on device" in fetched.files[0].reason and "hentes på nytt" in fetched.files[0].reason
    assert [f.filename for f in kit.backend.fetch_files()] == ["stor.xlsx"]
    monkeypatch.setattr(fetch, "write_private", real_write)  # room again
    again = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in again.files] == [TO_INCOMING] and again.handled_messages == 1
    assert list(kit.backend.fetch_files()) == []


def test_a_message_that_cannot_be_stored_three_runs_running_is_moved_aside_and_hr_is_told(
        kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A file the disk refuses night after night: its message is kept twice, then moved to the done folder
    unfetched (never retried for ever), the third fetch says so and exits 1, and HR's digest names it once."""
    from samtale_automation.commands.remind import hr_digest
    from samtale_automation.faces.present import present

    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    disk_full_for(data, monkeypatch)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: skjema", [(name, data)])
    runs = [fetch_from_mailbox(ws, kit.backend) for _ in range(3)]
    assert [(r.kept_messages, r.moved_aside) for r in runs[:2]] == [(1, []), (1, [])]
    assert runs[2].kept_messages == 0 and runs[2].moved_aside == [f"{name} ({BJORN})"]
    assert list(kit.backend.fetch_files()) == []  # in the done folder now: not fetched a fourth time
    shown = present(runs[2])
    assert any("Flyttet til behandlet-mappen uten å hente vedlegget (forsøkt 3 ganger)" in line for line in shown.lines)
    assert shown.exit_code == 1
    digest = hr_digest(ws, ws.load())
    assert digest is not None
    mail = [item for item in digest.items if item.kind == "mail"]
    assert len(mail) == 1 and f"E-posten fra {BJORN} med {name} er flyttet til behandlet-mappen" in mail[0].text
    assert "No space left on device" in mail[0].text and "innkommende/ for hånd" in mail[0].text


def test_an_excel_lock_file_is_left_out_and_a_workbook_named_like_one_is_read(kit: Kit, tmp_path: Path) -> None:
    """`~$…xlsx` attached by mistake (Excel's owner file: a name, not a workbook) is left out, not stored and not
    quarantined; the real file beside it is fetched and the message moves on. A real workbook that happens to
    be named `~$…` is stored without the prefix, so collect reads it instead of skipping it for ever."""
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    owner_file = b"\x0bBjorn Berg" + b" " * 43 + b"\x0b\x00B\x00j\x00" + b"\x00" * 100
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: to vedlegg", [("~$" + name, owner_file), (name, data)])
    _, other = returned_file(ws, "2", tmp_path, "Andre versjon.")
    kit.add_reply(BJORN, "SV: rart navn", [("~$kopi.xlsx", other)])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [(f.outcome, f.name) for f in fetched.files] == [(LEFT_OUT, "~$" + name), (TO_INCOMING, name),
                                                          (TO_INCOMING, "kopi.xlsx")]
    assert "låsefil fra Excel" in fetched.files[0].reason and fetched.handled_messages == 2
    assert sorted(p.name for p in (ws.folder.root / INCOMING_DIR).iterdir()) == sorted([name, "kopi.xlsx"])
    assert not list((ws.folder.root / QUARANTINE_DIR).iterdir())
    collected = run_collect(ws)
    assert collected.plan is not None
    assert [d.outcome for d in collected.plan.decisions] == [ACCEPTED, ACCEPTED]


@pytest.mark.parametrize(("verdict", "outcome"), [
    ("mx.firma.example; spf=pass smtp.mailfrom=firma.example; dmarc=fail (p=quarantine) header.from=firma.example",
     TO_QUARANTINE),
    ("spf=fail (sender IP is 203.0.113.9) smtp.mailfrom=firma.example; dkim=none; dmarc=none action=none "
     "header.from=firma.example;compauth=fail reason=001", TO_QUARANTINE),  # Microsoft 365: no authserv-id
    ("mx.firma.example; spf=softfail smtp.mailfrom=firma.example; dmarc=pass header.from=firma.example",
     TO_INCOMING),
    ("mx.firma.example; none", TO_INCOMING),
])
def test_the_receiving_servers_fail_verdict_quarantines(kit: Kit, tmp_path: Path, verdict: str,
                                                        outcome: str, nb_messages: None) -> None:
    """From is the employee's own address, but the receiving server says dmarc or spf failed: karantene/ with
    the verdict and what to do. A pass, softfail or no verdict leaves it to the From check."""
    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: skjema", [(name, data)], headers=[("Authentication-Results", verdict)])
    fetched = fetch_from_mailbox(ws, kit.backend)
    assert [f.outcome for f in fetched.files] == [outcome] and fetched.handled_messages == 1
    if outcome == TO_QUARANTINE:
        path = fetched.files[0].path
        assert path is not None and path.read_bytes() == data
        note = path.with_name(path.name + ".txt").read_text(encoding="utf-8")
        assert "avsenderen ikke kan bekreftes" in note and "=fail" in note and "kan være forfalsket" in note


def test_files_waiting_in_innkommende_are_hashed_without_holding_them_in_memory(kit: Kit, tmp_path: Path) -> None:
    """A 64 MiB file waiting in innkommende/ is hashed in chunks: the fetch recognises a copy of it by checksum
    and its peak heap stays far below the file's size."""
    import tracemalloc

    ws = make_folder(tmp_path / "f")
    big = ws.folder.root / INCOMING_DIR / "stor.xlsx"
    with big.open("wb") as handle:
        handle.write(b"PK\x03\x04")
        handle.truncate(64 * 1024 * 1024)
    small = b"PK\x03\x04" + b"\x00" * 60
    (ws.folder.root / INCOMING_DIR / "liten.xlsx").write_bytes(small)
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: igjen", [("liten kopi.xlsx", small)])
    tracemalloc.start()
    fetched = fetch_from_mailbox(ws, kit.backend)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert [f.outcome for f in fetched.files] == [ALREADY_HERE] and fetched.handled_messages == 1
    assert peak < 16 * 1024 * 1024
    assert big.stat().st_size == 64 * 1024 * 1024  # left as it was, for collect to refuse as too large


def test_collect_from_mailbox_with_an_emoji_name_and_a_lock_file_runs_through_and_says_what_happened(
        kit: Kit, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, nb_messages: None) -> None:
    """The whole `collect --from-mailbox` step (run_collect opening the configured backend, here the IMAP one)
    with a 120-emoji name, a lock file and a forged sender: no exception, every file accounted for in the
    presenter's lines, the good files recorded, and a second run finds the mailbox empty."""
    import samtale_automation.backends as backends
    from samtale_automation.faces.present import present

    ws = make_folder(tmp_path / "f")
    name, data = returned_file(ws, "2", tmp_path)
    emoji = "\U0001F600" * 120 + ".xlsx"
    assert kit.add_reply is not None
    kit.add_reply(BJORN, "SV: 😀", [(emoji, data), ("~$" + name, b"\x0bBjorn")])
    kit.add_reply(BJORN, "SV: falsk", [(name, returned_file(ws, "2", tmp_path, "Forfalsket.")[1])],
                  headers=[("Authentication-Results", "mx.firma.example; dmarc=fail header.from=firma.example")])
    monkeypatch.setattr(backends, "open_backend", lambda *_a, **_k: kit.backend)
    result = run_collect(ws, from_mailbox=True)
    assert result.fetched is not None and result.plan is not None
    assert [f.outcome for f in result.fetched.files] == [TO_INCOMING, LEFT_OUT, TO_QUARANTINE]
    assert [d.outcome for d in result.plan.decisions] == [ACCEPTED]
    shown = present(result)
    assert any(line.startswith("  hentet     😀") for line in shown.lines)
    assert any("utelatt" in line and "låsefil fra Excel" in line for line in shown.lines)
    assert any("karantene" in line and "dmarc=fail" in line for line in shown.lines)
    assert ws.load().conversations["2027-2"].prep_returned is not None
    again = run_collect(ws, from_mailbox=True)
    assert again.fetched is not None and again.fetched.files == []
