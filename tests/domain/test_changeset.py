"""ChangeSets: the ownership rules of merge_row and the journal's JSON form."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from samtale_automation.domain.changeset import (
    ChangeSet,
    Conflict,
    RowChange,
    decode_text,
    encode_value,
    merge_row,
    same_value,
    seeded_fields,
)
from samtale_automation.domain.model import OSLO
from samtale_automation.domain.schema import Kind

# ---- merge_row: new rows ---------------------------------------------------------------


def test_new_row_writes_every_column_whatever_its_owner() -> None:
    """Verify that creating a row writes person, tool and seeded columns alike, without conflicts."""
    change = RowChange("Samtaler", "2027-2", {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1",
                                              "status": "Foreslått"})
    writes, conflicts = merge_row(change, None, {})
    assert writes == {"conversation_id": "2027-2", "employee_id": "2", "manager_id": "1", "status": "Foreslått"}
    assert conflicts == []


# ---- merge_row: person columns ---------------------------------------------------------


def test_person_column_is_not_written_on_an_existing_row() -> None:
    """Verify the tool leaves a person-owned cell (Navn, Leder) alone once the row exists."""
    change = RowChange("Ansatte", "2", {"employee_id": "2", "name": "Kari Nordmann", "manager_id": "9"})
    current = {"employee_id": "2", "name": "Kari N.", "manager_id": "1", "email": "kari@firma.no"}
    writes, conflicts = merge_row(change, current, {})
    assert writes == {}
    assert conflicts == []


def test_person_column_is_written_with_force() -> None:
    """Verify force (a person asked on the command line) writes a person-owned cell that differs."""
    change = RowChange("Innstillinger", "Samtalerunde", {"key": "Samtalerunde", "value": "2027"}, force=True)
    current = {"key": "Samtalerunde", "value": "2026", "explanation": "…"}
    writes, conflicts = merge_row(change, current, {})
    assert writes == {"value": "2027"}
    assert conflicts == []


def test_person_column_force_with_same_value_writes_nothing() -> None:
    """Verify even a forced change skips cells that already hold the value."""
    change = RowChange("Innstillinger", "Samtalerunde", {"key": "Samtalerunde", "value": "2027"}, force=True)
    writes, _ = merge_row(change, {"key": "Samtalerunde", "value": 2027.0}, {})
    assert writes == {}


# ---- merge_row: tool columns -----------------------------------------------------------


def test_tool_column_is_always_written() -> None:
    """Verify tool-owned cells (Status, Invitert) are overwritten even when a person typed something."""
    change = RowChange("Samtaler", "2027-2", {"conversation_id": "2027-2", "status": "Invitert",
                                              "invited": date(2027, 1, 4), "employee_id": "3"})
    current = {"conversation_id": "2027-2", "employee_id": "2", "status": "Signert", "invited": None}
    writes, conflicts = merge_row(change, current, {"status": "Planlagt"})
    assert writes == {"status": "Invitert", "invited": date(2027, 1, 4)}  # employee_id is the person's
    assert conflicts == []


def test_same_value_in_another_form_is_not_written() -> None:
    """Verify a tool cell already holding the value as Excel stores it (datetime, float ID) is not rewritten."""
    change = RowChange("Samtaler", "2027-2", {"conversation_id": "2027-2", "invited": date(2027, 1, 4),
                                              "status": "Invitert", "prep_returned": date(2027, 1, 9)})
    current = {"conversation_id": "2027-2", "invited": datetime(2027, 1, 4, 0, 0), "status": "Invitert",
               "prep_returned": None}
    writes, conflicts = merge_row(change, current, {})
    assert writes == {"prep_returned": date(2027, 1, 9)}
    assert conflicts == []
    ids = RowChange("Tiltak", "2027-101-1", {"action_id": "2027-101-1", "employee_id": "101",
                                             "conversation_id": "2027-101"})
    writes, _ = merge_row(ids, {"action_id": "2027-101-1", "employee_id": 101.0, "conversation_id": "2026-101"}, {})
    assert writes == {"conversation_id": "2027-101"}


def test_same_value_rules_per_kind() -> None:
    """Verify values are compared as the column's kind reads them."""
    assert same_value(Kind.DATE, "04.01.2027", date(2027, 1, 4))
    assert same_value(Kind.DATETIME, datetime(2027, 1, 20, 10), "20.01.2027 10:00")
    assert same_value(Kind.ID, 101.0, "101")
    assert same_value(Kind.INT, "75", 75.0)
    assert same_value(Kind.TEXT, None, "  ")
    assert not same_value(Kind.DATE, "32.13.2027", date(2027, 1, 4))
    assert not same_value(Kind.TEXT, "Kari", "kari")


def test_same_value_date_in_a_text_column() -> None:
    """Verify a date written into a text cell (Innstillinger Verdi) equals the midnight datetime openpyxl reads back."""
    assert same_value(Kind.TEXT, datetime(2027, 1, 11, 0, 0), date(2027, 1, 11))
    assert same_value(Kind.TEXT, date(2027, 1, 11), datetime(2027, 1, 11, 0, 0))
    assert not same_value(Kind.TEXT, datetime(2027, 1, 11, 8, 0), date(2027, 1, 11))
    assert not same_value(Kind.TEXT, datetime(2027, 1, 12, 0, 0), date(2027, 1, 11))
    change = RowChange("Innstillinger", "Periode start", {"key": "Periode start", "value": date(2027, 1, 11)},
                       force=True)
    writes, _ = merge_row(change, {"key": "Periode start", "value": datetime(2027, 1, 11, 0, 0)}, {})
    assert writes == {}


# ---- merge_row: seeded columns ---------------------------------------------------------


def _action(**values: object) -> RowChange:
    return RowChange("Tiltak", "2027-2-1", {"action_id": "2027-2-1", **values})


def test_seeded_column_is_written_when_blank() -> None:
    """Verify a seeded cell (Tiltak, Frist) that is still empty gets the tool's value."""
    change = _action(description="Kurs i Excel", deadline=date(2027, 6, 1))
    current = {"action_id": "2027-2-1", "description": None, "deadline": None}
    writes, conflicts = merge_row(change, current, {})
    assert writes == {"description": "Kurs i Excel", "deadline": date(2027, 6, 1)}
    assert conflicts == []


def test_seeded_column_is_written_while_it_holds_what_the_tool_last_wrote() -> None:
    """Verify a seeded cell still holding the tool's last value is updated to the new value."""
    change = _action(description="Kurs i Excel, del 2", deadline=date(2027, 9, 1))
    current = {"action_id": "2027-2-1", "description": "Kurs i Excel", "deadline": datetime(2027, 6, 1)}
    last = {"description": "Kurs i Excel", "deadline": date(2027, 6, 1)}
    writes, conflicts = merge_row(change, current, last)
    assert writes == {"description": "Kurs i Excel, del 2", "deadline": date(2027, 9, 1)}
    assert conflicts == []


def test_seeded_column_changed_by_a_person_is_kept_and_reported() -> None:
    """Verify a seeded cell a person changed keeps the person's value and yields a Conflict."""
    change = _action(description="Kurs i Excel, del 2", owner="Kari")
    current = {"action_id": "2027-2-1", "description": "Kurs i Power BI i stedet", "owner": "Kari"}
    last = {"description": "Kurs i Excel", "owner": "Kari"}
    writes, conflicts = merge_row(change, current, last)
    assert writes == {}
    assert conflicts == [Conflict("Tiltak", "2027-2-1", "description",
                                  kept="Kurs i Power BI i stedet", offered="Kurs i Excel, del 2")]
    assert conflicts[0].describe() == ("2027-2-1 «Tiltak»: beholdt «Kurs i Power BI i stedet», "
                                       "ikke skrevet «Kurs i Excel, del 2»")


def test_seeded_column_filled_by_a_person_before_the_tool_is_kept() -> None:
    """Verify a non-empty seeded cell the tool never wrote counts as the person's and is not overwritten."""
    change = _action(deadline=date(2027, 6, 1))
    current = {"action_id": "2027-2-1", "deadline": date(2027, 5, 1)}
    writes, conflicts = merge_row(change, current, {})
    assert writes == {}
    assert [(c.field, c.kept, c.offered) for c in conflicts] == [("deadline", date(2027, 5, 1), date(2027, 6, 1))]


def test_seeded_column_with_same_value_is_neither_written_nor_a_conflict() -> None:
    """Verify a seeded cell a person set to exactly the offered value gives no write and no conflict."""
    change = _action(owner="Leder")
    writes, conflicts = merge_row(change, {"action_id": "2027-2-1", "owner": "Leder"}, {"owner": "Ansatt"})
    assert writes == {}
    assert conflicts == []


def test_seeded_column_with_force_overwrites_without_conflict() -> None:
    """Verify force writes a seeded cell a person changed, without a conflict."""
    change = RowChange("Tiltak", "2027-2-1", {"action_id": "2027-2-1", "status": "Fullført"}, force=True)
    writes, conflicts = merge_row(change, {"action_id": "2027-2-1", "status": "Pågår"}, {"status": "Ikke startet"})
    assert writes == {"status": "Fullført"}
    assert conflicts == []


def test_seeded_fields_of_tiltak_and_samtaler() -> None:
    """Verify exactly the seeded columns of Tiltak and Samtaler (the planner's time and place) are remembered."""
    assert seeded_fields("Tiltak") == {"description", "goal", "owner", "deadline", "status", "follow_up"}
    assert seeded_fields("Samtaler") == {"start", "end", "place"}


# ---- ChangeSet building and JSON -------------------------------------------------------


def test_upsert_puts_the_key_into_the_values() -> None:
    """Verify upsert records the ID column itself, and append has no key."""
    cs = ChangeSet("Test")
    cs.upsert("Ansatte", "7", name="Kari")
    cs.append("Logg", event="Noe skjedde")
    assert cs.changes == [RowChange("Ansatte", "7", {"employee_id": "7", "name": "Kari"}),
                          RowChange("Logg", None, {"event": "Noe skjedde"})]
    assert bool(cs) is True
    assert bool(ChangeSet("tom")) is False


def test_json_round_trip_keeps_dates_datetimes_and_flags() -> None:
    """Verify to_json/from_json gives back an equal ChangeSet with dates still dates and datetimes still aware."""
    cs = ChangeSet("Ny samtalerunde 2027 – «æøå»")
    cs.upsert("Innstillinger", "Periode start", force=True, value=date(2027, 1, 11))
    cs.upsert("Samtaler", "2027-2", employee_id="2", manager_id="1", start=datetime(2027, 1, 20, 10, tzinfo=OSLO),
              end=datetime(2027, 1, 20, 11, 15, tzinfo=OSLO), place=None, cancelled=False)
    cs.append("Logg", time=datetime(2026, 12, 1, 9, 0), event="Runde", who="hr", result="3 lagt til")
    text = cs.to_json()
    assert "æøå" in text  # stored readable, not \\u-escaped
    back = ChangeSet.from_json(text)
    assert back == cs
    assert (back.id, back.reason, back.created) == (cs.id, cs.reason, cs.created)
    period = back.changes[0]
    assert period.force is True
    assert type(period.values["value"]) is date
    start = back.changes[1].values["start"]
    assert isinstance(start, datetime)
    assert start.utcoffset() == timedelta(hours=1)
    assert start == datetime(2027, 1, 20, 10, tzinfo=OSLO)
    assert back.changes[1].force is False
    logged = back.changes[2].values["time"]
    assert logged == datetime(2026, 12, 1, 9, 0)
    assert logged.tzinfo is None
    assert back.changes[2].key is None


def test_encode_and_decode_single_values() -> None:
    """Verify one cell value survives encode_value/decode_text with its type."""
    for value in (date(2027, 6, 1), datetime(2027, 6, 1, 8, 30), "Kurs", 3, None, True):
        decoded = decode_text(encode_value(value))
        assert decoded == value
        assert type(decoded) is type(value)


def test_json_of_a_lone_surrogate_can_be_stored() -> None:
    """Verify a value with a lone surrogate (a file name's undecodable byte) gives JSON that UTF-8 can store."""
    cs = ChangeSet("fil")
    cs.append("Logg", event="Fil mottatt", result="navn\udcff.xlsx: godtatt")
    text = cs.to_json()
    assert text.encode("utf-8")
    assert ChangeSet.from_json(text) == cs
