"""The presenter for setting up and looking around: init, doctor, templates and the demo (see faces/present.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands import results as r
    from samtale_automation.faces.present import Say


def init(say: Say, result: r.InitResult) -> None:
    for path in result.created:
        say(tr(f"  laget  {path}", f"  made   {path}"))
    say(tr(f"\nFerdig. Fyll inn arket Ansatte i {result.master.name}, og kjør så "
           f"«samtale --dir {result.target} check».",
           f"\nDone. Fill in the Ansatte sheet in {result.master.name}, then run "
           f"«samtale --dir {result.target} check»."))


def excel_setup(say: Say, result: r.ExcelSetupResult) -> None:
    say(tr(f"Knappene i samtaler.xlsm bruker nå Python her: {result.interpreter}",
           f"The buttons in samtaler.xlsm now use the Python here: {result.interpreter}"))
    say(tr(f"  (skrevet i {result.config})", f"  (written to {result.config})"))
    if result.manager:
        say(tr(f"«Mine samtaler» viser samtalene til {result.manager}.",
               f"«Mine samtaler» shows the conversations of {result.manager}."))


def doctor(say: Say, report: r.DoctorReport) -> None:
    for check in report.checks:
        mark = "OK  " if check.ok else tr("FEIL", "FAIL")
        say(f"  {mark} {check.name}")
        for detail in check.details:
            say(f"       {detail}")
    if report.failure is not None:
        say.error(report.failure)
        return
    say(tr(f"\nAlt i orden med backend «{report.backend}».", f"\nBackend «{report.backend}» is in order."))


def template_list(say: Say, result: r.TemplateList) -> None:
    for info in result.templates:
        mark = tr(f"  (overstyrt: {', '.join(info.overridden)})", f"  (overridden: {', '.join(info.overridden)})") \
            if info.overridden else ""
        say(f"  {info.name:<28} {info.description}{mark}")
    if result.strays:
        say(tr("\nDisse filene overstyrer ingen mal (er navnet feilstavet?):",
               "\nThese files override no template (is the name misspelt?):"))
        for name in result.strays:
            say(f"  {name}")
    say(tr(f"\nLegg en fil med samme navn i {result.override_dir} for å endre en mal; "
           "«samtale templates show NAVN» viser den.",
           f"\nPut a file of the same name in {result.override_dir} to change a template; "
           "«samtale templates show NAME» shows it."))


def template_show(say: Say, result: r.TemplateShow) -> None:
    for file_name, origin, source in result.files:
        say(f"==> {file_name} ({origin})")
        say(source.rstrip())
        say()
    say(tr("==> Eksempel med oppdiktede data:", "==> Example with made-up data:"))
    if result.sample_subject is not None:
        say(tr(f"Emne: {result.sample_subject}", f"Subject: {result.sample_subject}"))
    say(result.sample_text.rstrip())


def demo(say: Say, result: r.DemoResult) -> None:
    """The closing line (the steps were shown as they happened, with demo_step)."""
    say(tr(f"\nÅpne {result.folder / result.workbook} i Excel eller LibreOffice for å se resultatet.",
           f"\nOpen {result.folder / result.workbook} in Excel or LibreOffice to see the result."))
