"""`samtale remind` end to end with the outbox: one digest per person per day, once, with the right files."""

from __future__ import annotations

import io
import zipfile
from datetime import date, datetime, time
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path

import openpyxl
import pytest
from folders import make_folder

from samtale_automation.commands.collect import run_collect
from samtale_automation.commands.invite import run_invite
from samtale_automation.commands.remind import run_remind
from samtale_automation.commands.workspace import Workspace
from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.model import OSLO
from samtale_automation.prepfile.fill import fill_employee, fill_minutes


def at(ws: Workspace, day: date, hour: int = 6) -> Workspace:
    """The same folder on another day (the nightly run)."""
    return Workspace.open(ws.folder.root, datetime.combine(day, time(hour), OSLO))


def digests(ws: Workspace, day: date) -> dict[str, EmailMessage]:
    """The day's digest mails by recipient address."""
    found = {}
    for path in sorted((ws.folder.root / "utboks" / day.isoformat() / "digest").glob("*.eml")):
        message = BytesParser(policy=policy.default).parsebytes(path.read_bytes())
        assert isinstance(message, EmailMessage)
        found[message["To"].addresses[0].addr_spec] = message
    return found


def text(message: EmailMessage) -> str:
    """The plain-text body."""
    body = message.get_body(("plain",))
    assert body is not None
    return str(body.get_content())


@pytest.fixture
def invited(tmp_path: Path) -> Workspace:
    """Conversations on 20 and 21 January 2027, invitations sent on 4 January."""
    ws = make_folder(tmp_path / "f")
    run_invite(ws)
    return ws


def test_one_digest_per_person_with_everything_they_need_to_do(invited: Workspace) -> None:
    day = at(invited, date(2027, 1, 13))  # 7 days before the 20th: prepare (employee and manager)
    result = run_remind(day)
    assert result.report is not None and not result.report.failed
    mails = digests(invited, date(2027, 1, 13))
    assert set(mails) == {"bjorn@firma.example", "ase@firma.example"}
    assert "Forbered" in text(mails["bjorn@firma.example"]) or "forbered" in text(mails["bjorn@firma.example"])
    # Åse manages both conversations but gets one mail naming Bjørn (the 20th); Cecilie's is the 21st.
    manager = text(mails["ase@firma.example"])
    assert "Bjørn" in manager
    assert str(mails["ase@firma.example"]["From"]).endswith("<hr@firma.example>") or "hr@firma.example" in str(
        mails["ase@firma.example"]["From"])
    # A second run the same night sends nothing.
    again = run_remind(day)
    assert again.digests == []
    assert set(digests(invited, date(2027, 1, 13))) == set(mails)


def test_a_reminder_due_on_a_saturday_goes_out_on_friday_and_nothing_on_the_weekend(invited: Workspace) -> None:
    # Cecilie's conversation is Thursday 21 January; 7 days before is Thursday 14th. Move it so the
    # 7-day lead falls on Saturday 16 January: the conversation on Saturday 23rd is odd, so use the
    # 2-day lead of a Monday conversation instead: Monday 25th − 2 = Saturday 23rd → Friday 22nd.
    move = ChangeSet("move")
    move.upsert("Samtaler", "2027-3", force=True, start=datetime(2027, 1, 25, 10, tzinfo=OSLO),
                end=datetime(2027, 1, 25, 11, tzinfo=OSLO))
    invited.commit(move)
    run_invite(invited)
    run_remind(at(invited, date(2027, 1, 18)))  # the 7-day lead for the 25th
    saturday = run_remind(at(invited, date(2027, 1, 23)))
    assert saturday.digests == [] and saturday.report is None
    friday = run_remind(at(invited, date(2027, 1, 22)))
    keys = {item.key for d in friday.digests for item in d.items}
    assert "prep_employee:2027-3:2" in keys


def test_the_sign_reminder_carries_the_employees_minutes_and_prepare_carries_the_guide(invited: Workspace) -> None:
    prep_root = invited.folder.root / "forberedelse" / "2027"
    source = next(prep_root.rglob("2 * - forberedelse.xlsx"))
    fill_employee(source, invited.folder.root / "innkommende" / source.name, chosen=["S01", "S02"], notes={},
                  other="", feedback="")
    run_collect(at(invited, date(2027, 1, 12), 18))
    guide = next(prep_root.rglob("2 * - samtaleguide.xlsx"))
    result = run_remind(at(invited, date(2027, 1, 13)))
    assert result.report is not None
    manager = digests(invited, date(2027, 1, 13))["ase@firma.example"]
    assert [part.get_filename() for part in manager.iter_attachments()] == [guide.name]

    workbook = openpyxl.load_workbook(source)  # the employee writes the minutes in their own file
    fill_minutes(workbook, summaries={0: "Godt år."}, actions=[], private="Bare for meg",
                 signed=("Bjørn Sæther", date(2027, 1, 20), None, None))
    minutes = invited.folder.root / "innkommende" / "referat Bjørn.xlsx"
    workbook.save(minutes)
    run_collect(at(invited, date(2027, 1, 21), 18))
    run_remind(at(invited, date(2027, 1, 22)))
    sign = digests(invited, date(2027, 1, 22))["ase@firma.example"]
    assert "signer" in text(sign).lower() or "sign" in text(sign).lower()
    names = [part.get_filename() for part in sign.iter_attachments()]
    # A fresh copy made from the minutes, never the returned file: the employee's private note stays behind.
    assert names == ["2 Bjørn Sæther - referat til leder.xlsx"]
    [copy] = list(sign.iter_attachments())
    payload = copy.get_payload(decode=True)
    assert isinstance(payload, bytes)
    with zipfile.ZipFile(io.BytesIO(payload)) as package:
        xml = "".join(package.read(n).decode("utf-8", "replace") for n in package.namelist())
    assert "Godt år." in xml and "Bare for meg" not in xml


def test_dry_run_lists_the_digests_and_sends_nothing(invited: Workspace) -> None:
    result = run_remind(at(invited, date(2027, 1, 13)), dry_run=True)
    assert {d.recipient.email for d in result.digests} == {"bjorn@firma.example", "ase@firma.example"}
    assert result.report is None
    assert not (invited.folder.root / "utboks" / "2027-01-13").exists()
    assert len(run_remind(at(invited, date(2027, 1, 13))).digests) == 2  # still due after a dry run
