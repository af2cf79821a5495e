"""The management report's numbers: the Oversikt's, with every group of fewer than three people folded."""

from __future__ import annotations

from datetime import date, datetime

from samtale_automation.domain.master import Master
from samtale_automation.domain.model import OSLO, Conversation, Employee, Settings
from samtale_automation.domain.overview import STATUS_CODES
from samtale_automation.plans.report import MIN_GROUP, ReportLine, fold, plan_report

NOW = datetime(2027, 2, 1, 9, tzinfo=OSLO)


def line(name: str, people: int, signed: int = 0) -> ReportLine:
    statuses = [0] * len(STATUS_CODES)
    statuses[STATUS_CODES.index("signed")] = signed
    statuses[STATUS_CODES.index("invited")] = people - signed
    return ReportLine(name, people, tuple(statuses), 0, 0)


def test_small_groups_are_folded_into_others() -> None:
    lines, folded = fold((line("Salg", 5), line("Lager", 1), line("IT", 2), line("Tom", 0)), "andre")
    assert [(x.name, x.people) for x in lines] == [("Salg", 5), ("Tom", 0), ("andre", 3)]
    assert folded == 2


def test_others_below_the_limit_takes_in_the_smallest_group() -> None:
    lines, folded = fold((line("Salg", 5), line("Lager", 1), line("IT", 3)), "andre")
    assert [(x.name, x.people) for x in lines] == [("Salg", 5), ("andre", 4)]
    assert folded == 2 and all(x.people >= MIN_GROUP for x in lines)


def test_completion_counts_signed_of_the_conversations_not_cancelled() -> None:
    assert line("A", 4, signed=1).completion == 25
    assert line("B", 0).completion == 0


def company() -> Master:
    staff = {"1": Employee("1", "Leder Lise", "l@f.example", department="Ledelse")}
    convs = {}
    for n in range(2, 9):
        dept = "Regnskap" if n < 6 else "Lønn" if n < 8 else "IT"
        staff[str(n)] = Employee(str(n), f"Ansatt {n}", f"{n}@f.example", department=dept, manager_id="1")
        convs[f"2027-{n}"] = Conversation(f"2027-{n}", str(n), "1", signed_employee=date(2027, 1, 20) if n == 2
                                          else None, signed_manager=date(2027, 1, 21) if n == 2 else None)
    return Master(Settings(round="2027", company="Fjordlys", period_end=date(2027, 2, 26)), staff, convs)


def test_the_report_has_no_names_below_the_manager_unless_asked() -> None:
    report = plan_report(company(), NOW)
    assert [(x.name, x.people) for x in report.departments if x.people] == [("Regnskap", 4), ("andre", 3)]
    assert [(x.name, x.people) for x in report.managers] == [("Leder Lise", 7)]
    assert report.total.people == 7 and report.total.done == 1 and report.days_left == 25
    assert report.people == () and "andre" in report.folded_note
    named = plan_report(company(), NOW, names=True)
    assert ("Leder Lise", "2", "Ansatt 2", "Signert") in named.people
