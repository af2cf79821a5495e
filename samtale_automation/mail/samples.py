"""Made-up data for every template: what `samtale templates show` renders, and what the tests render."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from samtale_automation.domain.messages import Person
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import UsageError
from samtale_automation.mail.templates import FRAGMENTS, TEMPLATE_NAMES, DigestItem, Templates
from samtale_automation.texts import lang_code, tr


def _at(day: date, hour: int, minute: int = 0) -> datetime:
    """An aware Oslo datetime."""
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=OSLO)


def sample_context(name: str, lang: str) -> dict[str, Any]:
    """Realistic sample data for a template: used by tests and `samtale templates show`, and lists its variables."""
    en = lang_code(lang) == "en"
    employee = Person("kari.nordvik@fjordlys.example", "Kari Nordvik")
    manager = Person("bjorn.saether@fjordlys.example", "Bjørn Sæther")
    start = _at(date(2027, 1, 11), 9)
    end = start + timedelta(minutes=75)
    base: dict[str, Any] = {"company": "Fjordlys Regnskap AS", "round": "2027", "lang": lang_code(lang)}
    place = "Møterom Fjorden"
    prep_file = "1005 Kari Nordvik - forberedelse.xlsx"
    past_actions = [
        {"description": "Course in the new VAT reporting" if en else "Kurs i ny MVA-rapportering",
         "deadline": date(2026, 6, 30), "status": "Fullført"},
        {"description": "Take over two of the larger clients" if en else "Overta to av de større kundene",
         "deadline": date(2026, 12, 31), "status": "Pågår"},
        {"description": "Weekly reconciliation with payroll" if en else "Fast ukentlig avstemming med lønn",
         "deadline": None, "status": "Ikke startet"},
    ]
    action = {"description": "Complete the course in group accounts" if en else "Fullføre kurs i konsernregnskap",
              "goal": "Take responsibility for group clients" if en else "Kunne ta ansvar for konsernkunder",
              "deadline": date(2027, 5, 31), "status": "Pågår"}
    follow_start = _at(date(2027, 5, 3), 14)  # summer time
    conversation = {"employee": employee, "manager": manager, "start": start, "end": end, "place": place}
    if name in ("invitation", "update"):
        values = {**base, **conversation, "prep_deadline": date(2027, 1, 7), "attachment_name": prep_file,
                  "past_actions": past_actions}
        if name == "update":
            values["previous_start"] = _at(date(2027, 1, 8), 13)
        return values
    if name == "cancellation":
        reason = "Kari is on sick leave; a new time will follow." if en else "Kari er sykmeldt; ny tid kommer."
        return {**base, **conversation, "reason": reason}
    if name == "manager_prep":
        return {**base, **conversation, "prep_deadline": date(2027, 1, 7),
                "attachment_name": "1005 Kari Nordvik - leder.xlsx"}
    if name in ("follow_up", "follow_up_cancellation"):
        return {**base, "owner": employee, "manager": manager, "employee": employee, "action": action,
                "start": follow_start, "end": follow_start + timedelta(minutes=30)}
    if name == "digest":
        # Bjørn on 27 January: Kari's minutes are back, Marius's conversation is coming up, an action is late.
        templates = Templates(lang_code(lang))
        later = _at(date(2027, 2, 2), 10)
        contexts = {
            "sign": sample_context("reminder_sign", lang),
            "prep_manager": {**sample_context("reminder_prep_manager", lang), "conversation_id": "2027-1006",
                             "employee": Person("marius.bakke@fjordlys.example", "Marius Bakke"),
                             "start": later, "end": later + timedelta(minutes=75), "place": "Stillerommet",
                             "deadline": date(2027, 1, 29), "attachment_name": None},
            "action_overdue": sample_context("reminder_action_overdue", lang),
        }
        items = []
        for kind, context in contexts.items():
            rendered = templates.fragment(f"reminder_{kind}", context)
            items.append(DigestItem(kind, rendered.text, rendered.html))
        return {**base, "recipient": manager, "day": date(2027, 1, 27), "items": items}
    if name == "hr_digest":
        sections = [
            {"title": "Quarantined files" if en else "Filer i karantene",
             "lines": ["A file was quarantined: karantene/20270126-020000 ansattliste.xlsx – see "
                       "karantene/20270126-020000 ansattliste.xlsx.txt for why, and ask the sender for the right file."
                       if en else "En fil ble satt i karantene: karantene/20270126-020000 ansattliste.xlsx – se "
                       "karantene/20270126-020000 ansattliste.xlsx.txt for hvorfor, og be avsenderen sende riktig "
                       "fil."]},
            {"title": "The workbook" if en else "Arbeidsboken",
             "lines": ["3 changes have waited since 26 Jan 2027: samtaler.xlsx is open by kari – close the workbook "
                       "where it is open, or run «samtale apply»." if en else "3 endringer har ventet siden "
                       "26.01.2027: samtaler.xlsx er åpen hos kari – lukk arbeidsboken der den er åpen, eller kjør "
                       "«samtale apply»."]},
            {"title": "Conversations without a time" if en else "Samtaler uten tidspunkt",
             "lines": ["2027-1012 (Marius Bakke) has no time (Samtaler!F13) – run «samtale plan» or fill in Start and "
                       "Slutt." if en else "2027-1012 (Marius Bakke) har ingen tid (Samtaler!F13) – kjør «samtale "
                       "plan» eller skriv Start og Slutt."]},
        ]
        return {**base, "day": date(2027, 1, 27), "total": 3, "sections": sections}
    if name in FRAGMENTS:
        return {**base, **_fragment_sample(name.removeprefix("reminder_"), employee, manager, start, end, place,
                                           prep_file, action)}
    raise UsageError(tr(f"Ukjent mal «{name}».", f"Unknown template «{name}»."),
                     hint=tr("Malene er: ", "The templates are: ") + ", ".join(TEMPLATE_NAMES) + ".")


def _fragment_sample(kind: str, employee: Person, manager: Person, start: datetime, end: datetime, place: str,
                     prep_file: str, action: dict[str, Any]) -> dict[str, Any]:
    """The context of one reminder fragment: every key present, None where the kind has no use for it."""
    values: dict[str, Any] = {"recipient": manager, "employee": employee, "manager": manager, "start": start,
                              "end": end, "place": place, "deadline": None, "action": None,
                              "attachment_name": None, "conversation_id": "2027-1005", "deadline_passed": False}
    if kind == "prep_employee":
        values.update(recipient=employee, deadline=date(2027, 1, 7), attachment_name=prep_file)
    elif kind == "prep_manager":
        values.update(deadline=date(2027, 1, 7), attachment_name="1005 Kari Nordvik - samtaleguide.xlsx")
    elif kind in ("minutes", "minutes_overdue"):
        values.update(recipient=employee, deadline=date(2027, 1, 25), attachment_name=prep_file)
    elif kind == "sign":
        values.update(deadline=date(2027, 2, 1), attachment_name=prep_file)
    elif kind == "action_due":
        values.update(recipient=employee, start=None, end=None, place="", action=action, deadline=action["deadline"])
    elif kind == "action_overdue":
        overdue = {**action, "deadline": date(2026, 12, 31)}
        values.update(start=None, end=None, place="", action=overdue, deadline=overdue["deadline"])
    elif kind == "reflection":
        values.update(employee=None, start=None, end=None, place="", conversation_id=None)
    return values
