"""The schema owns the workbook contract of DESIGN.md §4."""

from __future__ import annotations

import re
from pathlib import Path

from samtale_automation.domain import schema

PACKAGE = Path(schema.__file__).parent

DESIGN_HEADERS = {
    "Innstillinger": ["Innstilling", "Verdi", "Forklaring"],
    "Ansatte": ["AnsattID", "Navn", "E-post", "Avdeling", "Stilling", "Leder", "Aktiv", "Språk", "Arbeidsdager",
                "Borte"],
    "Samtaler": ["SamtaleID", "AnsattID", "Navn", "Leder", "Ledernavn", "Start", "Slutt", "Sted", "Avlyst",
                 "Avlyst grunn", "Status",
                 "Invitert", "Forberedelse mottatt", "Leder forberedt", "Referat mottatt", "Signert ansatt",
                 "Signert leder", "Merknad", "Signert ansatt versjon", "Signert leder versjon"],
    "Spørsmål": ["SpørsmålID", "Tema", "Spørsmål", "Hjelpespørsmål", "Spørsmål (en)", "Hjelpespørsmål (en)",
                 "Obligatorisk", "Gjelder", "Aktiv"],
    "Tiltak": ["TiltakID", "SamtaleID", "AnsattID", "Tiltak", "Mål", "Ansvarlig", "Frist", "Status", "Oppfølging",
               "Kilde"],
    "Rom": ["Rom", "E-post", "Aktiv"],
    "Logg": ["Tid", "Hendelse", "Hvem", "Resultat", "Endringssett"],
}


def test_headers_are_exactly_the_design() -> None:
    """Verify every sheet has DESIGN.md's exact headers, in order."""
    assert {s.name: [c.header for c in s.columns] for s in schema.TABLES} == DESIGN_HEADERS


def test_fields_unique_and_owners_as_designed() -> None:
    """Verify English fields are unique per sheet and the tool-owned dates are owned by the tool."""
    for sheet in schema.TABLES:
        fields = [c.field for c in sheet.columns]
        assert len(fields) == len(set(fields)), sheet.name
    tool = {c.header for c in schema.CONVERSATIONS.columns if c.owner is schema.Owner.TOOL}
    assert tool == {"Navn", "Ledernavn", "Status", "Invitert", "Forberedelse mottatt", "Leder forberedt",
                    "Referat mottatt",
                    "Signert ansatt", "Signert leder", "Merknad", "Signert ansatt versjon", "Signert leder versjon"}
    assert {c.header for c in schema.CONVERSATIONS.columns if c.hidden} == {"Signert ansatt versjon",
                                                                            "Signert leder versjon"}
    seeded = {c.header for c in schema.ACTIONS.columns if c.owner is schema.Owner.SEEDED}
    assert seeded == {"Tiltak", "Mål", "Ansvarlig", "Frist", "Status", "Oppfølging"}


def test_status_codes() -> None:
    """Verify the eight status codes of DESIGN.md §4, each with a Norwegian label."""
    assert list(schema.STATUS_LABELS) == ["proposed", "planned", "invited", "prepared", "held",
                                          "minutes_returned", "signed", "cancelled"]


def test_no_other_module_spells_a_header() -> None:
    """Verify that no module but schema.py writes a master-workbook header as a string literal.

    Prep files (prep_*.py, prepsheets.py, returned.py, guide.py) are another document with labels
    of their own, such as «Navn» and «Frist»; they are not the master's headers.
    """
    distinctive = {c.header for s in schema.TABLES for c in s.columns} - {s.name for s in schema.TABLES} - {
        "Start", "Status", "Leder", "Tiltak", "Spørsmål", "Aktiv"}  # also plain words or sheet names
    offenders = []
    for module in PACKAGE.glob("*.py"):
        if module.name == "schema.py" or module.name.startswith(("prep", "returned", "guide")):
            continue
        text = module.read_text(encoding="utf-8")
        for header in distinctive:
            if re.search(rf"[\"']{re.escape(header)}[\"']", text):
                offenders.append(f"{module.name}: {header}")
    assert offenders == []


def test_topics_and_value_lists() -> None:
    """Verify the six topics and that every validated column points at a defined list."""
    assert [t.key for t in schema.TOPICS] == ["tilbakeblikk", "mal", "kompetanse", "trivsel", "samarbeid", "leder"]
    names = set(schema.value_lists("nb")) | set(schema.TABLE_LISTS)
    for sheet in schema.TABLES:
        for column in sheet.columns:
            assert column.value_list is None or column.value_list in names, column.header
    assert schema.topic_for_label("Feedback to the leader") is schema.TOPICS[-1]
    assert schema.topic_for_label("  samarbeid og  ARBEIDSMILJØ ") is schema.TOPICS[4]
