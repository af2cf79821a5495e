"""`plan_collect`: a decision per returned file and one ChangeSet for the workbook (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, date, datetime
from typing import Any

import pytest

from samtale_automation.domain.changeset import ChangeSet
from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Action, Conversation, Employee, Settings
from samtale_automation.domain.prepsheet import EMPLOYEE, FIXED_CREATED, MANAGER, Identity, ReturnedAction, ReturnedFile
from samtale_automation.domain.schema import ACTIONS, CONVERSATIONS, LOG
from samtale_automation.plans.consolidate import (
    ACCEPTED,
    DUPLICATE,
    QUARANTINED,
    REMOVED_MARK,
    Arrival,
    CollectPlan,
    Counted,
    plan_collect,
)

pytestmark = pytest.mark.usefixtures("nb_messages")  # reasons are asserted in Norwegian

NOW = datetime(2027, 2, 10, 2, 0, tzinfo=OSLO)  # the nightly run
LOG_TIME = datetime(2027, 2, 10, 2, 0)
CID = "2027-1001"


def _master(actions: Iterable[Action] = ()) -> Master:
    employees = (Employee("1", "Sjef Sjefsen", "sjef@firma.no"),
                 Employee("1001", "Kari Nordmann", "kari@firma.no", manager_id="1"))
    conv = Conversation(CID, "1001", "1", start=datetime(2027, 2, 3, 10, 0, tzinfo=OSLO),
                        end=datetime(2027, 2, 3, 11, 15, tzinfo=OSLO))
    return Master(settings=Settings(company="Firma AS", round="2027"),
                  employees={e.employee_id: e for e in employees}, conversations={CID: conv},
                  actions={a.action_id: a for a in actions})


def _at(day: int, hour: int = 12) -> datetime:
    """A file's own saved time as the reader gives it (docProps, UTC), on a February day of 2027."""
    return datetime(2027, 2, day, hour, 0, tzinfo=UTC)


def _file(variant: str = EMPLOYEE, saved: datetime | None = None, *, prep: bool = True, minutes: bool = False,
          actions: Iterable[ReturnedAction] = (), signed_employee: date | None = None,
          signed_manager: date | None = None, conversation_id: str = CID, employee_id: str = "1001",
          **kw: Any) -> ReturnedFile:
    return ReturnedFile(Identity(conversation_id, employee_id, variant, "2027"), saved,
                        chosen=["S01", "S03"] if prep else [],
                        summaries={"mal": "Vi ble enige om retning."} if minutes else {},
                        actions=list(actions), signed_employee_date=signed_employee,
                        signed_manager_date=signed_manager, **kw)


def _arrival(returned: ReturnedFile | None, name: str = "kari.xlsx", *, sha: str | None = None,
             arrived: datetime = datetime(2027, 2, 9, 23, 0, tzinfo=OSLO), rejection: str | None = None) -> Arrival:
    return Arrival(name, sha or f"sha-{name}", arrived, returned, rejection)


def _collect(arrivals: list[Arrival], counted: Iterable[Counted] = (), seen: Iterable[str] = (),
             actions: Iterable[Action] = ()) -> CollectPlan:
    return plan_collect(_master(actions), arrivals, list(counted), set(seen), NOW, "nattjobb")


def _upserts(changeset: ChangeSet, table: str) -> list[tuple[str | None, dict[str, Any]]]:
    return [(c.key, c.values) for c in changeset.changes if c.table == table]


def _final(changeset: ChangeSet, table: str) -> dict[str, dict[str, Any]]:
    """Each row as the ChangeSet leaves a new row: later changes to the same cell win."""
    rows: dict[str, dict[str, Any]] = {}
    for key, values in _upserts(changeset, table):
        assert key is not None
        rows.setdefault(key, {}).update(values)
    return rows


def _log(changeset: ChangeSet) -> list[tuple[str, str]]:
    return [(values["event"], values["result"]) for _, values in _upserts(changeset, LOG.table)]


def _action(n: int, source: str = "Referat (ansatt) 05.02.2027") -> Action:
    return Action(f"{CID}-{n}", CID, "1001", f"Tiltak {n}", source=source)


# ---- preparation ------------------------------------------------------------------------------


def test_an_accepted_employee_prep_sets_its_date_and_asks_for_the_guide() -> None:
    """An employee's filled prep: accepted, «Forberedelse mottatt» = the day it was saved, a guide, a Logg row."""
    arrival = _arrival(_file(saved=_at(8)))
    seen: set[str] = set()
    plan = plan_collect(_master(), [arrival], [], seen, NOW, "nattjobb")
    [decision] = plan.decisions
    assert (decision.outcome, decision.reason) == (ACCEPTED, "forberedelse registrert")
    assert decision.counts_prep and not decision.counts_minutes
    assert decision.conversation is not None and decision.conversation.conversation_id == CID
    assert _upserts(plan.changeset, CONVERSATIONS.table) == [
        (CID, {"conversation_id": CID, "prep_returned": date(2027, 2, 8)})]
    assert plan.guides == [decision]
    [(_, log)] = _upserts(plan.changeset, LOG.table)
    assert log == {"time": LOG_TIME, "event": "Fil mottatt", "who": "nattjobb",
                   "result": "kari.xlsx: forberedelse registrert"}
    assert seen == {"sha-kari.xlsx"}


def test_a_manager_prep_sets_leder_forberedt_and_makes_no_guide() -> None:
    """The manager's filled prep sets «Leder forberedt»; only the employee's prep makes a guide."""
    plan = _collect([_arrival(_file(MANAGER, _at(7)), "sjef.xlsx")])
    assert _upserts(plan.changeset, CONVERSATIONS.table) == [
        (CID, {"conversation_id": CID, "manager_prepared": date(2027, 2, 7)})]
    assert plan.guides == []


def test_of_two_returns_of_the_same_conversation_and_variant_the_one_saved_last_counts() -> None:
    """Two employee preps in one run, newest first in the folder: the one saved last sets the date and the guide."""
    newer = _arrival(_file(saved=_at(8)), "kari ny.xlsx")
    older = _arrival(_file(saved=_at(5)), "kari gammel.xlsx")
    plan = _collect([newer, older])
    assert [d.arrival.name for d in plan.decisions] == ["kari gammel.xlsx", "kari ny.xlsx"]
    assert all(d.outcome == ACCEPTED for d in plan.decisions)
    assert _final(plan.changeset, CONVERSATIONS.table)[CID]["prep_returned"] == date(2027, 2, 8)
    assert [g.arrival.name for g in plan.guides] == ["kari ny.xlsx"]


def test_a_return_older_than_one_counted_before_is_archived_and_changes_nothing() -> None:
    """A file saved before the version a previous run counted: accepted for the archive, no dates change."""
    counted = [Counted(CID, EMPLOYEE, _at(8), has_prep=True, has_minutes=False, manager_signed=False)]
    plan = _collect([_arrival(_file(saved=_at(6)))], counted)
    [decision] = plan.decisions
    assert (decision.outcome, decision.counts_prep) == (ACCEPTED, False)
    assert decision.reason == "arkivert; en nyere versjon gjelder"
    assert _upserts(plan.changeset, CONVERSATIONS.table) == [] and plan.guides == []
    assert _log(plan.changeset) == [("Fil mottatt", "kari.xlsx: arkivert; en nyere versjon gjelder")]
    other_variant = _collect([_arrival(_file(MANAGER, _at(6)))], counted)
    assert other_variant.decisions[0].counts_prep  # each variant counts on its own


def test_the_saved_time_is_the_files_own_unless_it_is_the_templates() -> None:
    """A file's own modified time counts; the template's fixed time or none falls back to its arrival."""
    arrived = datetime(2027, 2, 9, 23, 0, tzinfo=OSLO)
    assert _arrival(_file(saved=_at(8)), arrived=arrived).saved == _at(8)
    assert _arrival(_file(saved=FIXED_CREATED.replace(tzinfo=UTC)), arrived=arrived).saved == arrived
    assert _arrival(_file(saved=None), arrived=arrived).saved == arrived
    assert _arrival(_file(saved=None), arrived=arrived.replace(tzinfo=None)).saved == arrived


def test_dates_are_the_oslo_day_the_file_was_saved() -> None:
    """A file saved at 00:30 on 4 February in Oslo (23:30 UTC the day before) counts for 4 February."""
    saved = datetime(2027, 2, 3, 23, 30, tzinfo=UTC)
    plan = _collect([_arrival(_file(saved=saved, minutes=True))])
    row = _final(plan.changeset, CONVERSATIONS.table)[CID]
    assert (row["prep_returned"], row["minutes_returned"]) == (date(2027, 2, 4), date(2027, 2, 4))


# ---- a file's own saved time is believed only between its form's issue and its arrival --------

ARRIVED = datetime(2027, 2, 9, 23, 0, tzinfo=OSLO)
ISSUED = datetime(2027, 2, 1, 9, 0, tzinfo=OSLO)


@pytest.mark.parametrize(("saved", "text", "issued", "note"), [
    (datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC), "9999-12-31T23:59:59Z", ISSUED,
     "filens egen lagringstid (31.12.9999 23:59 UTC) er etter at filen kom inn; ankomsttiden er brukt"),
    (datetime(2099, 6, 1, 12, 0, tzinfo=UTC), "2099-06-01T12:00:00Z", None,
     "filens egen lagringstid (01.06.2099 14:00) er etter at filen kom inn; ankomsttiden er brukt"),
    (datetime(1, 1, 1, tzinfo=UTC), "0001-01-01T00:00:00Z", None, "er før skjemaet ble laget; ankomsttiden er brukt"),
    (datetime.fromisoformat("0001-01-01T00:30:00+05:00"), "0001-01-01T00:30:00+05:00", ISSUED,
     "filens egen lagringstid (01.01.0001 00:30 UTC+05:00) er før skjemaet ble laget; ankomsttiden er brukt"),
    (_at(1, 7), "2027-02-01T07:00:00Z", ISSUED,
     "filens egen lagringstid (01.02.2027 08:00) er før skjemaet ble laget; ankomsttiden er brukt"),
    (None, "i går kveld", ISSUED, "filens egen lagringstid («i går kveld») er ikke en tid; ankomsttiden er brukt"),
])
def test_a_saved_time_out_of_bounds_counts_as_arrival_and_says_why(saved: datetime | None, text: str,
                                                                   issued: datetime | None, note: str) -> None:
    """A saved time after arrival, before the form was made (or the template's time), or not a time at all:
    the arrival counts, its Oslo day is written, and the decision and the Logg row say why; never an error."""
    arrival = _arrival(_file(saved=saved, modified_text=text), arrived=ARRIVED)
    arrival = Arrival(arrival.name, arrival.sha256, arrival.arrived, arrival.returned, issued=issued)
    assert arrival.saved == ARRIVED and note in arrival.saved_time()[1]
    plan = _collect([arrival])
    [decision] = plan.decisions
    assert decision.outcome == ACCEPTED and decision.reason == f"forberedelse registrert; {decision.note}"
    assert _final(plan.changeset, CONVERSATIONS.table)[CID]["prep_returned"] == date(2027, 2, 9)
    assert _log(plan.changeset) == [("Fil mottatt", f"kari.xlsx: {decision.reason}")]


def test_a_saved_time_between_issue_and_arrival_is_believed() -> None:
    """The bounds are inclusive: saved the moment the form was made, or the moment it arrived, is believed;
    without an issue time any time after the template's own (and not after arrival) is."""
    for saved, issued in ((ISSUED, ISSUED), (ARRIVED, ISSUED), (datetime(2021, 3, 1, tzinfo=UTC), None)):
        arrival = Arrival("kari.xlsx", "sha", ARRIVED, _file(saved=saved), issued=issued)
        assert arrival.saved_time() == (saved.astimezone(OSLO), "")
    template = Arrival("kari.xlsx", "sha", ARRIVED, _file(saved=FIXED_CREATED.replace(tzinfo=UTC)), issued=ISSUED)
    assert template.saved_time() == (ARRIVED, "")  # the untouched template's time: no note


def test_a_file_claiming_a_later_saved_time_does_not_beat_one_saved_later() -> None:
    """A file that says 2099 counts at its arrival: the one really saved after that arrival wins."""
    liar = _arrival(_file(saved=datetime(2099, 1, 1, tzinfo=UTC)), "løgn.xlsx", arrived=ARRIVED)
    honest = _arrival(_file(saved=datetime(2027, 2, 9, 22, 30, tzinfo=UTC)), "ærlig.xlsx",
                      arrived=datetime(2027, 2, 10, 0, 0, tzinfo=OSLO))
    plan = _collect([liar, honest])
    assert [d.arrival.name for d in plan.decisions] == ["løgn.xlsx", "ærlig.xlsx"]
    assert [g.arrival.name for g in plan.guides] == ["ærlig.xlsx"]
    assert _final(plan.changeset, CONVERSATIONS.table)[CID]["prep_returned"] == date(2027, 2, 9)


# ---- files that do not count ------------------------------------------------------------------


@pytest.mark.parametrize(("returned", "rejection", "reason"), [
    (_file(conversation_id="2027-1099", employee_id="1099"), None, "samtalen 2027-1099 finnes ikke i arbeidsboken"),
    (_file(employee_id="1002"), None, "filen hører til ansatt 1002, men samtalen 2027-1001 gjelder 1001"),
    (_file(prep=False), None, "filen er ikke fylt ut"),
    (None, "identiteten stemmer ikke", "identiteten stemmer ikke"),
])
def test_files_that_cannot_count_are_quarantined_with_a_reason(returned: ReturnedFile | None,
                                                               rejection: str | None, reason: str) -> None:
    """Unknown conversation, another employee's file, an empty file, an unreadable one: quarantined, said why."""
    seen: set[str] = set()
    plan = plan_collect(_master(), [_arrival(returned, "rart.xlsx", rejection=rejection)], [], seen, NOW, "nattjobb")
    [decision] = plan.decisions
    assert decision.outcome == QUARANTINED and decision.reason.startswith(reason)
    assert _upserts(plan.changeset, CONVERSATIONS.table) == [] and _upserts(plan.changeset, ACTIONS.table) == []
    assert _log(plan.changeset) == [("Fil i karantene", f"rart.xlsx: {decision.reason}")]
    assert plan.guides == [] and seen == set()


def test_the_same_file_again_is_a_duplicate() -> None:
    """A file whose bytes were accepted before, or twice in one run, is a duplicate: no change, no Logg row."""
    before = _collect([_arrival(_file(saved=_at(8)), sha="abc")], seen={"abc"})
    assert [(d.outcome, d.reason) for d in before.decisions] == [
        (DUPLICATE, "samme fil er mottatt før; ingenting endret")]
    assert not before.changeset
    twice = _collect([_arrival(_file(saved=_at(8)), "a.xlsx", sha="abc"),
                      _arrival(_file(saved=_at(8)), "b.xlsx", sha="abc")])
    assert [d.outcome for d in twice.decisions] == [ACCEPTED, DUPLICATE]
    assert len(_upserts(twice.changeset, CONVERSATIONS.table)) == 1


# ---- minutes ----------------------------------------------------------------------------------


def test_minutes_set_their_dates_and_actions_get_ids_from_the_conversation() -> None:
    """Minutes: «Referat mottatt», the manager's own sign-off with its version (the employee's cells in the
    manager's file are not a signature), and Tiltak `<SamtaleID>-<n>`; only new ones get a status."""
    actions = [ReturnedAction("Kurs i Excel", "Pivottabeller", "Kari", date(2027, 6, 1), 30),
               ReturnedAction("Mentor", "", "Sjef Sjefsen", None, 31)]
    returned = _file(MANAGER, _at(9), prep=False, minutes=True, actions=actions,
                     signed_employee=date(2027, 2, 8), signed_manager=date(2027, 2, 9), private_note="Bare mitt")
    plan = _collect([_arrival(returned, "sjef.xlsx")], actions=[_action(1)])
    [decision] = plan.decisions
    assert (decision.outcome, decision.counts_minutes, decision.counts_prep) == (ACCEPTED, True, False)
    version = returned.minutes().version()
    assert decision.reason == (
        f"referat registrert, lederens endelige versjon {version[:8]} går til medarbeideren for kontrasignering, "
        "medarbeiderens signering i lederens fil er ikke tatt med (bare medarbeiderens egen fil kan signere for "
        "medarbeideren)")
    assert _final(plan.changeset, CONVERSATIONS.table)[CID] == {
        "conversation_id": CID, "minutes_returned": date(2027, 2, 9), "signed_employee": None,
        "signed_manager": date(2027, 2, 9), "signed_manager_version": version}
    source = "Referat (leder) 09.02.2027"
    assert _upserts(plan.changeset, ACTIONS.table) == [
        (f"{CID}-1", {"action_id": f"{CID}-1", "conversation_id": CID, "employee_id": "1001",
                      "description": "Kurs i Excel", "goal": "Pivottabeller", "owner": "Kari",
                      "deadline": date(2027, 6, 1), "source": source}),
        (f"{CID}-2", {"action_id": f"{CID}-2", "conversation_id": CID, "employee_id": "1001",
                      "description": "Mentor", "goal": "", "owner": "Sjef Sjefsen", "deadline": None,
                      "source": source, "status": "Ikke startet"}),
    ]
    assert "Bare mitt" not in repr(plan.changeset.changes)  # the private note never reaches the register


def test_a_file_with_prep_and_minutes_counts_for_both() -> None:
    """One file holding both the prep and the minutes sets both dates and says so."""
    plan = _collect([_arrival(_file(saved=_at(8), minutes=True))])
    assert plan.decisions[0].reason == "forberedelse registrert, referat registrert"
    row = _final(plan.changeset, CONVERSATIONS.table)[CID]
    assert (row["prep_returned"], row["minutes_returned"]) == (date(2027, 2, 8), date(2027, 2, 8))


def test_the_managers_signed_minutes_outrank_the_employees_later_ones() -> None:
    """Signed by the manager beats saved later: the employee's newer minutes do not count, now or in a later run."""
    signed = _arrival(_file(MANAGER, _at(8), prep=False, minutes=True, signed_manager=date(2027, 2, 8)),
                      "sjef.xlsx")
    later = _arrival(_file(EMPLOYEE, _at(9), prep=False, minutes=True, actions=[
        ReturnedAction("Noe annet", "", "", None, 30)]), "kari.xlsx")
    plan = _collect([later, signed])
    by_name = {d.arrival.name: d for d in plan.decisions}
    assert by_name["sjef.xlsx"].counts_minutes and not by_name["kari.xlsx"].counts_minutes
    assert by_name["kari.xlsx"].reason == "arkivert; en nyere versjon gjelder"
    assert _final(plan.changeset, CONVERSATIONS.table)[CID]["minutes_returned"] == date(2027, 2, 8)
    assert _upserts(plan.changeset, ACTIONS.table) == []
    counted = [Counted(CID, MANAGER, _at(8), has_prep=False, has_minutes=True, manager_signed=True)]
    next_run = _collect([later], counted)
    assert not next_run.decisions[0].counts_minutes and _upserts(next_run.changeset, CONVERSATIONS.table) == []


def test_unsigned_manager_minutes_do_not_outrank_later_ones() -> None:
    """Without the manager's signature the manager's version is just a version: the one saved last counts."""
    draft = _arrival(_file(MANAGER, _at(8), prep=False, minutes=True), "sjef.xlsx")
    later = _arrival(_file(EMPLOYEE, _at(9), prep=False, minutes=True), "kari.xlsx")
    plan = _collect([later, draft])
    assert [(d.arrival.name, d.counts_minutes) for d in plan.decisions] == [("sjef.xlsx", True), ("kari.xlsx", True)]
    assert _final(plan.changeset, CONVERSATIONS.table)[CID]["minutes_returned"] == date(2027, 2, 9)


def test_an_action_missing_from_newer_minutes_is_marked_not_deleted() -> None:
    """Tiltak beyond the newer minutes' count get « – ikke med i nyeste referat» once; nothing is deleted."""
    existing = [_action(1), _action(2), _action(3), _action(4, "Referat (ansatt) 01.02.2027" + REMOVED_MARK),
                Action("2027-1002-3", "2027-1002", "1002", "Annen samtale"),
                Action(f"{CID}-x", CID, "1001", "Lagt inn for hånd")]
    returned = _file(saved=_at(9), prep=False, minutes=True, actions=[ReturnedAction("Tiltak 1", "", "", None, 30)])
    plan = _collect([_arrival(returned)], actions=existing)
    changes = _upserts(plan.changeset, ACTIONS.table)
    assert [key for key, _ in changes] == [f"{CID}-1", f"{CID}-2", f"{CID}-3"]
    assert changes[1][1] == {"action_id": f"{CID}-2", "source": "Referat (ansatt) 05.02.2027" + REMOVED_MARK}
    assert changes[2][1] == {"action_id": f"{CID}-3", "source": "Referat (ansatt) 05.02.2027" + REMOVED_MARK}


@pytest.mark.xfail(strict=True, reason="when two versions of the minutes arrive in one run, an action only the "
                                       "older version has is created from it and never marked as missing")
def test_an_action_only_in_an_older_version_of_the_same_run_is_marked() -> None:
    """Employee's minutes with 3 actions and the manager's newer ones with 2 in one run: action 3 is marked."""
    three = [ReturnedAction(f"Tiltak {n}", "", "", None, 29 + n) for n in (1, 2, 3)]
    older = _arrival(_file(EMPLOYEE, _at(8), prep=False, minutes=True, actions=three), "kari.xlsx")
    newer = _arrival(_file(MANAGER, _at(9), prep=False, minutes=True, actions=three[:2]), "sjef.xlsx")
    rows = _final(_collect([older, newer]).changeset, ACTIONS.table)
    assert f"{CID}-3" not in rows or rows[f"{CID}-3"]["source"].endswith(REMOVED_MARK)


def test_a_signature_counts_only_from_the_signers_own_variant() -> None:
    """The employee's file cannot sign for the manager: its manager date does not set «Signert leder»."""
    returned = _file(EMPLOYEE, _at(9), prep=False, minutes=True, signed_employee=date(2027, 2, 9),
                     signed_manager=date(2027, 2, 9))
    row = _final(_collect([_arrival(returned)]).changeset, CONVERSATIONS.table)[CID]
    assert row["signed_employee"] == date(2027, 2, 9) and "signed_manager" not in row
