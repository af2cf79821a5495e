"""The presenter for `nightly`, `nightly install|show|remove`, `report` and `gdpr` (see faces/present.py).

Exit codes for a scheduler: 0 done (or another nightly is still within its budget: «kjører
allerede»); 1 a step failed, or the other run has overrun its budget; 3 the workbook was locked
and the changes wait; 4 the mail server failed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK, SamtaleError
from samtale_automation.texts import tr

if TYPE_CHECKING:
    from samtale_automation.commands import results as r
    from samtale_automation.faces.present import Say

STEP_NAMES = {
    "fetch": ("hent fra postkassen", "fetch from the mailbox"),
    "collect": ("samle inn", "collect"),
    "remind": ("påminnelser", "reminders"),
    "retention": ("lagringstid", "retention"),
    "hr": ("e-post til HR", "mail to HR"),
    "write": ("skriv arbeidsboken", "write the workbook"),
}
OUTCOMES = {"ok": ("ok", "ok"), "failed": ("FEILET", "FAILED"), "skipped": ("hoppet over", "skipped")}


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
        label = STEP_NAMES.get(step.name, (step.name, step.name))
        text = f"  {tr(*label)}: {tr(*OUTCOMES.get(step.outcome, (step.outcome, step.outcome)))}" + (
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
        if cron:
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
    say(tr(f"Runde {result.report.round}: {total.people} samtaler, {total.completion} % fullført, "
           f"{total.actions_open} tiltak åpne ({total.actions_overdue} forfalt).",
           f"Round {result.report.round}: {total.people} conversations, {total.completion} % completed, "
           f"{total.actions_open} actions open ({total.actions_overdue} overdue)."))
    if result.report.folded_note:
        say(result.report.folded_note)
