"""The presenter for `nightly`, `nightly install|show|remove`, `report` and `gdpr` (see faces/present.py).

Exit codes for a scheduler: 0 done (or another nightly is still within its budget: «kjører
allerede»); 1 a step failed, or the other run has overrun its budget; 3 the workbook was locked
and the changes wait; 4 the mail server failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands.results_night import said
from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK, SamtaleError
from samtale_automation.texts import count, tr

if TYPE_CHECKING:
    from samtale_automation.commands import results_night as r
    from samtale_automation.faces.present import Presentation, Say



def nightly(say: Say, result: r.NightlyResult) -> None:
    """A nightly run: «kjører allerede», or one line per step, then what waits and the exit code."""
    from samtale_automation.plans.nightly import OVERRUN

    if result.already_running:
        if result.already_running == OVERRUN:
            say.warn(tr(f"En nattkjøring kjører allerede og har brukt mer enn tidsbudsjettet på "
                        f"{result.budget_minutes} minutter: {result.holder}.",
                        f"A nightly run is already running and has used more than its time budget of "
                        f"{result.budget_minutes} minutes: {result.holder}."))
            say(tr("HR er varslet." if result.alarm_sent else "HR er allerede varslet i dag, eller kunne ikke varsles.",
                   "HR has been alerted." if result.alarm_sent else "HR was already alerted today, or could not be."))
            say.exit_code = EXIT_PROBLEMS
        else:
            say(tr(f"Nattkjøringen kjører allerede ({result.holder}); denne kjøringen gjør ingenting.",
                   f"The nightly run is already running ({result.holder}); this run does nothing."))
        return
    if result.dry_run:
        say(tr("Prøvekjøring: ingenting er sendt, flyttet, slettet eller skrevet.",
               "Dry run: nothing was sent, moved, removed or written."))
    for step in result.steps:
        text = f"  {said(step)}" + (
            f" – {step.summary}" if step.summary else "")
        if step.outcome == "failed":
            say.warn(text)
            code = step.error.exit_code if isinstance(step.error, SamtaleError) else EXIT_PROBLEMS
            say.exit_code = max(say.exit_code, code)
        else:
            say(text)
    for removed in result.removed:
        say(tr(f"  fjernet etter lagringstiden: {removed}", f"  removed after the retention period: {removed}"))
    for name in result.kept_unknown:
        say(tr(f"  runden «{name}» har ikke noe årstall i navnet og blir ikke slettet automatisk",
               f"  the round «{name}» has no year in its name and is not removed automatically"))
    if result.stopped_at_budget:
        say.warn(tr(f"Stoppet ved tidsbudsjettet ({result.budget_minutes} minutter); resten tas neste natt.",
                    f"Stopped at the time budget ({result.budget_minutes} minutes); the rest goes next night."))
        say.exit_code = max(say.exit_code, EXIT_PROBLEMS)
    if result.blocked:
        say.warn(tr(f"Arbeidsboken ble ikke skrevet: {result.blocked}",
                    f"The workbook was not written: {result.blocked}"))
        say.exit_code = max(say.exit_code, EXIT_WORKBOOK)
    if say.exit_code == EXIT_OK:
        say(tr(f"Nattkjøringen er ferdig på {result.seconds:.1f} s.",
               f"The nightly run finished in {result.seconds:.1f} s."))


def nightly_task(say: Say, result: r.NightlyTaskResult) -> None:
    """`nightly install|show|remove`: the line or XML, what is installed, or why install refused."""
    cron = result.kind == "cron"
    if result.refused:
        say.warn(result.refused)
        for line in result.doctor_output.splitlines()[-15:]:
            say.warn("  " + line)
        say.exit_code = EXIT_PROBLEMS
        return
    if result.action == "show":
        if result.kind == "systemd":
            say(tr("Legg disse to filene i /etc/systemd/system/ og slå på timeren:",
                   "Put these two files in /etc/systemd/system/ and enable the timer:"))
            say(result.text)
            say(_command_line(result.command))
        elif cron:
            say(tr("Installert for denne mappen:", "Installed for this folder:") if result.installed
                else tr("Ingen nattkjøring er installert for denne mappen i crontab. Slik blir linjen:",
                        "No nightly run is installed for this folder in the crontab. The line would be:"))
            say(result.installed or result.text)
        else:
            say(tr(f"Windows-oppgaven «{result.task_name}» (importeres med schtasks /Create /XML):",
                   f"The Windows task «{result.task_name}» (imported with schtasks /Create /XML):"))
            say(result.installed or result.text)
            say(_command_line(result.command))
        return
    if result.action == "install":
        prefix = tr("Ville installert: ", "Would install: ") if result.dry_run else tr("Installert: ", "Installed: ")
        say(prefix + (result.text if cron else result.task_name))
        if not cron:
            say(_command_line(result.command))
        if result.doctor_output:
            say(tr("samtale doctor gikk bra slik oppgaven vil kjøre.",
                   "samtale doctor passed the way the task will run."))
        return
    if result.installed or not cron:
        say((tr("Ville fjernet: ", "Would remove: ") if result.dry_run else tr("Fjernet: ", "Removed: "))
            + (result.installed or result.task_name))
    else:
        say(tr("Ingen nattkjøring var installert for denne mappen.", "No nightly run was installed for this folder."))


def _command_line(parts: list[str]) -> str:
    """A command shown as it would be typed (parts with spaces quoted)."""
    return " ".join(f'"{p}"' if " " in p else p for p in parts)


def report(say: Say, result: r.ReportResult) -> None:
    """`report`: where the file is and the round's totals."""
    total = result.report.total
    verb = tr("Ville skrevet", "Would write") if result.dry_run else tr("Skrev", "Wrote")
    say(f"{verb} {result.path}")
    say(tr(f"Runde {result.report.round}: {count(total.people, 'samtale', 'samtaler', '', '')}, "
           f"{total.completion} % fullført, "
           f"{total.actions_open} tiltak åpne ({total.actions_overdue} forfalt).",
           f"Round {result.report.round}: {count(total.people, '', '', 'conversation', 'conversations')}, "
           f"{total.completion} % completed, "
           f"{total.actions_open} actions open ({total.actions_overdue} overdue)."))
    if result.report.folded_note:
        say(result.report.folded_note)


def gdpr(say: Say, result: r.GdprResult) -> None:
    """`gdpr export|erase`: what was (or would be) exported or erased, what is only listed, what remains."""
    who = result.employee_id
    if result.action == "export":
        verb = tr("Ville skrevet", "Would write") if result.dry_run else tr("Skrev", "Wrote")
        say(tr(f"{verb} {result.path} med {count(len(result.files), 'fil', 'filer', '', '')} om ansatt {who}, "
               "radene i arbeidsboken og journalen.",
               f"{verb} {result.path} with {count(len(result.files), '', '', 'file', 'files')} about employee {who}, "
               "the workbook's rows and the journal's."))
        say(tr("Gå gjennom filen før den gis videre (se LESMEG.txt i den).",
               "Review the file before handing it over (see LESMEG.txt inside)."))
    elif result.dry_run or result.declined:
        say(tr(
            f"Sletting av ansatt {who} ville anonymisere "
            f"{count(len(result.conversations), 'samtale', 'samtaler', '', '')} og {len(result.actions)} tiltak i "
            f"arbeidsboken, fjerne {count(len(result.files), 'fil', 'filer', '', '')}, rense "
            f"{count(len(result.scrubbed_logs), 'loggfil', 'loggfiler', '', '')} og journalen:",
            f"Erasing employee {who} would anonymise "
            f"{count(len(result.conversations), '', '', 'conversation', 'conversations')} and "
            f"{count(len(result.actions), '', '', 'action', 'actions')} in the workbook, remove "
            f"{count(len(result.files), '', '', 'file', 'files')}, clean "
            f"{count(len(result.scrubbed_logs), '', '', 'log file', 'log files')} and the journal:"))
        for relpath in result.files:
            say(f"  - {relpath}")
        if result.declined:
            say.warn(tr("Ingenting er slettet (ikke bekreftet; bruk --yes).", "Nothing was erased (not confirmed; "
                                                                              "use --yes)."))
            say.exit_code = EXIT_PROBLEMS
    else:
        say(tr(f"Ansatt {who} er slettet: {count(len(result.conversations), 'samtale', 'samtaler', '', '')} og "
               f"{len(result.actions)} tiltak anonymisert, {count(result.workbook_cells, 'celle', 'celler', '', '')} "
               f"renset i arbeidsboken, {count(len(result.files), 'fil', 'filer', '', '')} fjernet, "
               f"{result.journal_cells} felt renset i journalen (sikker sletting og VACUUM).",
               f"Employee {who} is erased: {count(len(result.conversations), '', '', 'conversation', 'conversations')}"
               f" and {count(len(result.actions), '', '', 'action', 'actions')} anonymised, "
               f"{count(result.workbook_cells, '', '', 'cell', 'cells')} cleaned in the workbook, "
               f"{count(len(result.files), '', '', 'file', 'files')} removed, "
               f"{count(result.journal_cells, '', '', 'field', 'fields')} cleaned in the journal (secure delete and "
               "VACUUM)."))
    if result.listed:
        say(tr("Nevnes også i andres originaler (ikke endret, vurder dem selv):",
               "Also named in other people's originals (not changed; review them yourself):"))
        for relpath in result.listed:
            say(f"  - {relpath}")
    for relpath in result.remaining:
        say.warn(tr(f"Nevner fortsatt personen: {relpath}", f"Still names the person: {relpath}"))
        say.exit_code = EXIT_PROBLEMS


def erase_question(result: r.GdprResult) -> Presentation:
    """The question before an erase, and the refusal without a terminal."""
    from samtale_automation.faces.present import Presentation

    return Presentation([tr(f"Slette alt om ansatt {result.employee_id} for godt?",
                            f"Erase everything about employee {result.employee_id} for good?"),
                         tr("Ingen terminal: ingenting er slettet. Bruk --yes for å slette.",
                            "No terminal: nothing was erased. Use --yes to erase.")], EXIT_PROBLEMS)
