"""One presenter for both faces: a command's result → the summary lines and the exit code (DESIGN.md §9).

`present(result)` takes what any command returns (commands.results) and gives a Presentation:
the lines a person reads, in bokmål or English (texts.tr), and the exit code of one table for
all commands — 0 ok; 1 done, but problems were found or some items failed; 2 usage; 3 workbook
missing, unreadable or locked; 4 backend. The CLI prints the lines (those marked as warnings on
stderr); the Excel buttons show the same lines in a message box. An error a command raises is
presented by `present_error` in the same way. Every word a person reads after a command is made
here or in the present_* modules beside it (one per group of commands).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeAlias

from samtale_automation.commands import results as r
from samtale_automation.commands import results_night as rn
from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK, SamtaleError, UsageError
from samtale_automation.texts import count, tr

if TYPE_CHECKING:
    from samtale_automation.workbook.apply import ApplyResult

    CommandResult: TypeAlias = (
        r.InitResult | r.RoundResult | r.ApplyPendingResult | r.SetAsideResult | r.CheckResult | r.StatusResult
        | r.PrepResult
        | r.CollectResult | r.FetchResult | r.InviteResult | r.RemindResult | r.DoctorReport | r.TemplateList
        | r.TemplateShow | r.DemoResult | r.PlanResult | rn.NightlyResult
        | rn.NightlyTaskResult | rn.ReportResult | rn.GdprResult | r.RefreshResult | r.ExcelSetupResult | r.MineResult
        | r.UpgradeMacrosResult)


@dataclass(frozen=True)
class TableBlock:
    """A table shown before the lines (status), with the notes that belong under it."""

    title: str
    headers: list[str]
    rows: list[list[str]]
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Presentation:
    """What a person is shown after a command: lines (some of them warnings) and the exit code."""

    lines: list[str]
    exit_code: int = EXIT_OK
    warnings: frozenset[int] = frozenset()  # indexes of `lines` that are warnings or errors (stderr in the CLI)
    table: TableBlock | None = None

    def text(self) -> str:
        """Everything as plain text, for a message box: the table as simple columns, then the lines."""
        shown: list[str] = []
        if self.table is not None:
            shown += [self.table.title, "  ".join(self.table.headers)]
            shown += ["  ".join(row) for row in self.table.rows] + self.table.notes
        return "\n".join(shown + self.lines).strip("\n")


class Say:
    """Builds a Presentation line by line."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.warnings: set[int] = set()
        self.exit_code = EXIT_OK
        self.table: TableBlock | None = None

    def __call__(self, text: str = "") -> None:
        self.lines.append(text)

    def warn(self, text: str) -> None:
        """A warning or error line (stderr in the CLI)."""
        self.warnings.add(len(self.lines))
        self.lines.append(text)

    def error(self, error: SamtaleError) -> None:
        """The error's message, the problems it names and the hint; its exit code."""
        self.warn(tr("Feil: ", "Error: ") + error.message)
        for problem in error.problems:
            self.warn(f"  - {problem}")
        if error.hint:
            self.warn(tr("Gjør dette: ", "What to do: ") + error.hint)
        self.exit_code = error.exit_code

    def applied(self, result: ApplyResult) -> None:
        """How writing to the workbook went: conflicts, and what waits (exit 3) or what was written."""
        for conflict in result.conflicts:
            self(tr(f"  konflikt: {conflict.describe()}", f"  conflict: {conflict.describe()}"))
        for changeset_id, why in result.set_aside:
            self.warn(tr(f"Satt til side (kan ikke skrives): endring {changeset_id}: {why}. Se «samtale check».",
                         f"Set aside (cannot be written): change set {changeset_id}: {why}. See «samtale check»."))
            self.exit_code = max(self.exit_code, EXIT_PROBLEMS)
        if result.blocked:
            self.warn(tr(f"Venter: {result.blocked}", f"Waiting: {result.blocked}"))
            self.warn(tr("Endringene er tatt vare på og skrives av neste kommando eller «samtale apply».",
                         "The changes are kept and will be written by the next command or «samtale apply»."))
            self.exit_code = EXIT_WORKBOOK
        elif result.applied:
            self(tr(f"Skrev til arbeidsboken: {count(result.created, 'ny rad', 'nye rader', '', '')}, "
                    f"{count(result.updated, 'rad endret', 'rader endret', '', '')}.",
                    f"Wrote to the workbook: {count(result.created, '', '', 'new row', 'new rows')}, "
                    f"{result.updated} updated."))

    def done(self) -> Presentation:
        """The Presentation built so far."""
        return Presentation(list(self.lines), self.exit_code, frozenset(self.warnings), self.table)


def present(result: CommandResult) -> Presentation:
    """Turn any command's result into its lines and exit code."""
    from samtale_automation.faces import (
        present_collect,
        present_excel,
        present_nightly,
        present_plan,
        present_send,
        present_setup,
    )

    say = Say()
    if isinstance(result, rn.NightlyResult):
        present_nightly.nightly(say, result)
    elif isinstance(result, rn.NightlyTaskResult):
        present_nightly.nightly_task(say, result)
    elif isinstance(result, rn.ReportResult):
        present_nightly.report(say, result)
    elif isinstance(result, rn.GdprResult):
        present_nightly.gdpr(say, result)
    elif isinstance(result, r.InviteResult):
        present_send.invite(say, result)
    elif isinstance(result, r.RemindResult):
        present_send.remind(say, result)
    elif isinstance(result, r.CollectResult):
        present_collect.collect(say, result)
    elif isinstance(result, r.FetchResult):
        present_collect.fetched(say, result)
    elif isinstance(result, r.PrepResult):
        _prep(say, result)
    elif isinstance(result, r.PlanResult):
        present_plan.plan(say, result)
    elif isinstance(result, r.RoundResult):
        _round(say, result)
    elif isinstance(result, r.ApplyPendingResult):
        _apply(say, result)
    elif isinstance(result, r.SetAsideResult):
        _set_aside(say, result)
    elif isinstance(result, r.CheckResult):
        _check(say, result)
    elif isinstance(result, r.StatusResult):
        _status(say, result)
    elif isinstance(result, r.DoctorReport):
        present_setup.doctor(say, result)
    elif isinstance(result, r.TemplateList):
        present_setup.template_list(say, result)
    elif isinstance(result, r.TemplateShow):
        present_setup.template_show(say, result)
    elif isinstance(result, r.InitResult):
        present_setup.init(say, result)
    elif isinstance(result, r.RefreshResult | r.MineResult | r.UpgradeMacrosResult):
        if isinstance(result, r.RefreshResult) and result.pending.pending:
            _apply(say, result.pending)
        present_excel.button(say, result)
    elif isinstance(result, r.ExcelSetupResult):
        present_setup.excel_setup(say, result)
    else:
        present_setup.demo(say, result)
    return say.done()


def present_json(result: r.StatusResult) -> Presentation:
    """`status --json`: the report as one JSON object (with --by, its groups under «by»)."""
    data: dict[str, object] = dict(result.report)
    if result.overview is not None and result.by is not None:
        from samtale_automation.domain.overview import STATUS_CODES

        lines = result.overview.managers if result.by == "manager" else result.overview.departments
        data["by"] = {"kind": result.by, "days_left": result.overview.days_left, "groups": [
            {"name": line.name, "counts": dict(zip(STATUS_CODES, line.statuses, strict=True)),
             "conversations": line.conversations, "actions_open": line.actions_open,
             "actions_overdue": line.actions_overdue} for line in (*lines, result.overview.total)]}
    # One line: with indent json falls back to its pure-Python encoder (0.3 s at 10,000 actions).
    return Presentation([json.dumps(data, ensure_ascii=False)])


def present_error(error: SamtaleError) -> Presentation:
    """An error a command raised: message, problems and what to do, on stderr, with its exit code."""
    say = Say()
    say.error(error)
    return say.done()


def present_interrupted(*, by_person: bool) -> Presentation:
    """Stopped by the person: a «no» to a question (exit 1) or Ctrl+C (exit 130)."""
    if by_person:
        return Presentation([tr("Avbrutt.", "Aborted.")], EXIT_PROBLEMS, frozenset({0}))
    return Presentation([tr("Avbrutt.", "Interrupted.")], 130, frozenset({0}))


def present_crash(details: str) -> Presentation:
    """A bug: the traceback's last frames, and a request to report it (exit 1)."""
    lines = [tr("Uventet feil i samtale. Detaljer:", "Unexpected error in samtale. Details:"), details,
             tr("Meld gjerne feilen med teksten over.", "Please report the error with the text above.")]
    return Presentation(lines, EXIT_PROBLEMS, frozenset(range(len(lines))))


def progress_label(step: str) -> str:
    """The label of a progress bar: «send», «move» (collect) or «fetch» (the mailbox)."""
    labels = {"send": tr("Sender", "Sending"), "move": tr("Flytter filer", "Moving files"),
              "fetch": tr("Henter fra postkassen", "Fetching from the mailbox")}
    return labels[step]


def clock_error(option: str, value: str) -> UsageError:
    """The error for a time-of-day option that is not one (exit 2)."""
    return UsageError(tr(f"{option} {value}: ikke et klokkeslett.", f"{option} {value}: not a time of day."),
                      hint=tr("Skriv klokkeslettet som TT:MM, f.eks. 02:30.", "Write the time as HH:MM, e.g. 02:30."))


def date_error(option: str, value: str) -> UsageError:
    """The error for a date option that is not a date (exit 2)."""
    return UsageError(tr(f"{option} {value}: ikke en dato.", f"{option} {value}: not a date."),
                      hint=tr("Skriv datoen som ÅÅÅÅ-MM-DD, f.eks. 2027-01-11.",
                              "Write the date as YYYY-MM-DD, e.g. 2027-01-11."))


def discard_question(ids: list[str]) -> Presentation:
    """The question before a discard (its first line) and, as a warning, what happens without a terminal."""
    return Presentation([tr(f"Forkaste {', '.join(ids)} for godt (endringene blir aldri skrevet)?",
                            f"Discard {', '.join(ids)} for good (the changes are never written)?"),
                         tr("Ingen terminal og ingen --yes: ingenting er forkastet. Kjør med --yes for å forkaste.",
                            "No terminal and no --yes: nothing was discarded. Run with --yes to discard.")],
                        EXIT_PROBLEMS, frozenset({1}))


def demo_step(text: str) -> str:
    """One step of the demo, shown as it happens."""
    return f"• {text}"


def dry_run_line() -> str:
    """The last line of a dry run that would have written."""
    return tr("\nPrøvekjøring: ingenting er skrevet.", "\nDry run: nothing was written.")


# ---- one function per command ----------------------------------------------------------------



def _round(say: Say, result: r.RoundResult) -> None:
    plan = result.plan
    for employee in plan.added:
        say(f"  + {plan.name}-{employee.employee_id}  {employee.name}")
    for employee, why in plan.skipped:
        say(tr(f"  – hoppet over {employee.employee_id} {employee.name}: {why}",
               f"  – skipped {employee.employee_id} {employee.name}: {why}"))
    for problem in plan.problems:
        say.warn(problem.render())
    if plan.problems:
        say.exit_code = EXIT_PROBLEMS  # the others were added; these people wait for a fix
    if plan.existing:
        say(tr(f"  = {count(len(plan.existing), 'person', 'personer', '', '')} hadde allerede en samtale i {plan.name}",
               f"  = {len(plan.existing)} already had a conversation in {plan.name}"))
    if result.dry_run:
        say(dry_run_line())
        return
    say(tr(f"Runde {plan.name}: {len(plan.added)} lagt til, {len(plan.skipped)} hoppet over.",
           f"Round {plan.name}: {len(plan.added)} added, {len(plan.skipped)} skipped."))
    if result.apply is not None:
        say.applied(result.apply)


def _apply(say: Say, result: r.ApplyPendingResult) -> None:
    from samtale_automation.plans.status import pending_reason

    for aside in result.set_aside:
        say.warn(tr(f"  satt til side: {aside.changeset.id}  {aside.changeset.reason}: {aside.reason}",
                    f"  set aside: {aside.changeset.id}  {aside.changeset.reason}: {aside.reason}"))
    if not result.pending:
        say(tr("Ingen endringer venter.", "No changes are waiting."))
        return
    for item in result.pending:
        say(f"  {item.changeset.id}  {pending_reason(item)}")
    if result.dry_run:
        say(dry_run_line())
    elif result.apply is not None:
        say.applied(result.apply)


def _set_aside(say: Say, result: r.SetAsideResult) -> None:
    from samtale_automation.commands.set_aside import describe

    for item in result.items:
        for line in describe(item):
            say(line)
    if result.dry_run:
        say(tr("\nPrøvekjøring: ingenting er endret.", "\nDry run: nothing was changed."))
    elif result.declined:
        say.warn(tr("Ingenting er forkastet.", "Nothing was discarded."))
        say.exit_code = EXIT_PROBLEMS
    elif result.apply is not None:
        say.applied(result.apply)


def _check(say: Say, result: r.CheckResult) -> None:
    for problem in result.problems:
        say(problem.render())
    warned = sum(p.is_warning for p in result.problems)  # shown, but alone never exit 1
    warnings = count(warned, "advarsel", "advarsler", "warning", "warnings")
    errors = len(result.problems) - warned
    if errors:
        counted = tr(f"{errors} problem" + "er" * (errors > 1), f"{errors} problem" + "s" * (errors > 1))
        counted += tr(" og ", " and ") + warnings if warned else ""
        say(tr(f"\n{counted} funnet.", f"\n{counted} found."))
        say.exit_code = EXIT_PROBLEMS
    elif warned:
        say(tr(f"\nIngen problemer funnet, men {warnings}.", f"\nNo problems found, but {warnings}."))
    else:
        say(tr("Ingen problemer funnet.", "No problems found."))


def _status(say: Say, result: r.StatusResult) -> None:
    from samtale_automation.domain.schema import CONVERSATIONS, STATUS_LABELS

    if result.overview is not None and result.by is not None:
        from samtale_automation.faces.present_status import status_by

        status_by(say, result)
        return

    report = result.report
    columns = ("conversation_id", "employee_id", "manager_id", "start", "place", "status")
    rows = [[conv["id"], conv["employee_id"], conv["manager_id"],
             conv["start"][:16].replace("T", " ") if conv["start"] else "–", conv["place"] or "",
             STATUS_LABELS[conv["status"]]] for conv in report["conversations"]]
    counts = ", ".join(f"{STATUS_LABELS[code]}: {n}" for code, n in report["counts"].items() if n)
    total = len(report['conversations'])
    notes = [tr(f"Totalt {count(total, 'samtale', 'samtaler', '', '')}. {counts}",
                f"{count(total, '', '', 'conversation', 'conversations')} in total. {counts}"),
             tr(f"Tiltak: {len(report['actions'])}", f"Actions: {len(report['actions'])}")]
    notes += [tr(f"Venter på å bli skrevet: {change['reason']}", f"Waiting to be written: {change['reason']}")
              for change in report["pending_changes"]]
    notes += [tr(f"Satt til side ({change['id']}): {change['reason']}: {change['why']} – se «samtale check»",
                 f"Set aside ({change['id']}): {change['reason']}: {change['why']} – see «samtale check»")
              for change in report["set_aside_changes"]]
    say.table = TableBlock(tr(f"Samtalerunde {report['round'] or '(ikke satt)'}",
                              f"Round {report['round'] or '(not set)'}"),
                           [CONVERSATIONS.header(name) for name in columns], rows, notes)
    for why in result.save_blockers:
        say(tr("Hindrer lagring uten Excel: ", "Blocks saving without Excel: ") + why)


def _prep(say: Say, result: r.PrepResult) -> None:
    plan = result.plan
    for item in plan.files:
        verb = tr("lager på nytt", "re-issue") if item.reissue else tr("lager", "write")
        say(f"  {verb:<14} {item.path.relative_to(result.root)}")
    for what, why in plan.skipped:
        say(tr(f"  hopper over  {what}: {why}", f"  skip         {what}: {why}"))
    for problem in plan.problems:
        say.warn(problem.render())
    if plan.problems:
        say.exit_code = EXIT_PROBLEMS  # the others were made; these rows wait for a fix
    if result.dry_run:
        say(dry_run_line())
        return
    say(tr(f"\n{count(len(plan.files), 'fil', 'filer', '', '')} laget, {len(plan.skipped)} hoppet over.",
           f"\n{count(len(plan.files), '', '', 'file', 'files')} written, {len(plan.skipped)} skipped."))
    if result.apply is not None:
        say.applied(result.apply)
