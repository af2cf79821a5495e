"""The presenter for the sending commands, `invite` and `remind` (see faces/present.py).

Also the plan shown before sending and the question asked then (`confirmation`), so the CLI's
prompt and an Excel dialog say the same. Exit codes: a server that stopped answering gives its
error's code (4); a change left waiting for the workbook 3; problems, refused recipients or a
«no» to the question 1.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS, EXIT_WORKBOOK
from samtale_automation.texts import count, delivered_word, tr

if TYPE_CHECKING:
    from samtale_automation.commands.deliver import SendReport
    from samtale_automation.commands.results import InviteResult, RemindResult
    from samtale_automation.errors import Problem
    from samtale_automation.faces.present import Say
    from samtale_automation.plans.meetings import InvitePlan
    from samtale_automation.plans.reminders import Digest, ReminderItem


@dataclass(frozen=True)
class Confirmation:
    """What is shown before sending: the plan, the question, and the answer without a terminal."""

    lines: list[str]
    question: str  # «Sende invitasjonene via smtp?»
    refusal: str  # no terminal and no --yes: nothing is sent


def confirmation(plan: InvitePlan | list[Digest], backend: str) -> Confirmation:
    """The plan of an invite (an InvitePlan) or a remind (its digests), and what to ask before sending it."""
    if isinstance(plan, list):
        lines, what = digest_lines(plan), tr("påminnelsene", "the reminders")
    else:
        lines, what = invite_lines(plan), tr("invitasjonene", "the invitations")
    return Confirmation(
        lines,
        tr(f"Sende {what} via {backend}?", f"Send {what} through {backend}?"),
        tr(f"Ingen terminal og ingen --yes: ingenting er sendt. Kjør med --yes for å sende {what}.",
           f"No terminal and no --yes: nothing was sent. Run with --yes to send {what}."))


def invite_lines(plan: InvitePlan) -> list[str]:
    """One line per planned message: who gets what."""
    from samtale_automation.commands.invite import kind_label

    lines = []
    for item in plan.meetings:
        when = item.start.strftime("%d.%m.%Y %H:%M")
        names = ", ".join(p.name or p.email for p in item.recipients)
        retry = tr(" (sendes på nytt)", " (again)") if item.retry else ""
        reason = item.context.get("reason") if item.kind == "cancellation" else ""
        why = tr(f"  grunn: {reason}", f"  reason: {reason}") if reason else ""
        lines.append(f"  {kind_label(item.kind):<20} {item.state.key:<22} {when}  → {names}{retry}{why}")
    for mail in plan.mails:
        names = ", ".join(p.name or p.email for p in mail.recipients)
        lines.append(f"  {kind_label(mail.kind):<20} {mail.conversation_id or '':<22} {'':16}  → {names}")
    return lines


def digest_lines(digests: list[Digest]) -> list[str]:
    """One line per digest: who, and what it reminds them of."""
    return [f"  {d.recipient.name:<24} {', '.join(reminder_label(i) for i in d.items)}" for d in digests]


def hr_lines(result: RemindResult) -> list[str]:
    """HR's digest in the plan: what needs a person, one line each."""
    if result.hr is None:
        return []
    heading = tr(f"  Til HR (postkassen): {count(len(result.hr.items), 'sak', 'saker', '', '')}",
                 f"  To HR (the mailbox): {count(len(result.hr.items), '', '', 'item', 'items')}")
    return [heading, *(f"    - {item.text}" for item in result.hr.items)]


def reminder_label(item: ReminderItem) -> str:
    """What one reminder is about («skriv referat 2027-2»)."""
    labels = {"prep_employee": tr("forbered deg", "prepare"), "prep_manager": tr("forbered deg (leder)", "prepare"),
              "not_prepared": tr("ikke forberedt", "not prepared"), "minutes": tr("skriv referat", "write minutes"),
              "minutes_overdue": tr("referat forsinket", "minutes overdue"), "sign": tr("signer", "sign"),
              "countersign": tr("kontrasigner", "countersign"), "signed": tr("signert referat (PDF)", "signed (PDF)"),
              "action_due": tr("tiltak snart", "action due"), "action_overdue": tr("tiltak forfalt", "action overdue"),
              "reflection": tr("refleksjon", "reflection")}
    subject = item.conversation_id or item.action_id or ""
    return f"{labels.get(item.kind, item.kind)} {subject}".strip()


def invite(say: Say, result: InviteResult) -> None:
    """`invite`: the dry run's plan, nothing to send, or what was sent (the plan was shown before sending)."""
    plan = result.plan
    if result.dry_run:
        for line in invite_lines(plan):
            say(line)
        for employee_id in plan.needs_prep:
            say(tr(f"  lager først forberedelsesskjema for {employee_id}",
                   f"  first makes prep files for {employee_id}"))
        for problem in plan.problems:
            say.warn(problem.render())
        planned = count(len(plan.meetings) + len(plan.mails), "melding", "meldinger", "message", "messages")
        say(tr(f"\nPrøvekjøring: {planned} ville blitt {delivered_word(result.backend)}, "
               f"{plan.unchanged} er allerede {delivered_word(result.backend)} og uendret.",
               f"\nDry run: {planned} would be {delivered_word(result.backend)}, "
               f"{plan.unchanged} were {delivered_word(result.backend)} before and are unchanged."))
        say.exit_code = EXIT_PROBLEMS if plan.problems else EXIT_OK  # rows that would not be sent, named above
        return
    for name in result.prepared:
        say(tr(f"  laget {name}", f"  made {name}"))
    if plan.empty and result.report is None:  # once sent, the plan keeps no messages: the report has them
        for problem in plan.problems:
            say.warn(problem.render())
        unchanged = count(plan.unchanged, "invitasjon", "invitasjoner", "invitation", "invitations")
        said = delivered_word(result.backend)
        say(tr(f"Ingenting å sende: {unchanged} er allerede {said} og uendret.",
               f"Nothing to send: {unchanged} {'was' if plan.unchanged == 1 else 'were'} {said} before and "
               f"{'is' if plan.unchanged == 1 else 'are'} unchanged."))
        say.exit_code = EXIT_PROBLEMS if plan.problems else EXIT_OK
        return
    _sent(say, result, plan.problems, ("melding", "meldinger", "message", "messages"))


def remind(say: Say, result: RemindResult) -> None:
    """`remind`: the day's digests (a dry run, or nothing to send), or what was sent; and the answers to the
    invitations, where the backend sees them (the Svar column), or that it does not."""
    _replies(say, result)
    if not result.working_day:
        say(tr("I dag er ikke en arbeidsdag: ingen påminnelser sendes (de gikk ut arbeidsdagen før).",
               "Today is not a working day: no reminders are sent (they went out the working day before)."))
    if result.dry_run or (not result.digests and result.hr is None):
        for line in digest_lines(result.digests):
            say(line)
        for line in hr_lines(result):
            say(line)
        for problem in result.problems:
            say.warn(problem.render())
        dry = result.dry_run
        said = delivered_word(result.backend)
        digests = count(len(result.digests), "sammendrag", "sammendrag", "digest", "digests")
        say(tr(f"\n{'Prøvekjøring: ' if dry else ''}{digests} {f'ville blitt {said}' if dry else 'å sende'}.",
               f"\n{'Dry run: ' if dry else ''}{digests} {f'would be {said}' if dry else 'to send'}."))
        say.exit_code = EXIT_PROBLEMS if result.problems and not dry else EXIT_OK
        return
    for line in hr_lines(result):
        say(line)
    _sent(say, result, result.problems, ("sammendrag", "sammendrag", "digest", "digests"))


def _replies(say: Say, result: RemindResult) -> None:
    if result.replies_read:
        say(tr(f"Svar på invitasjonene lest: {count(result.replies_written, 'samtale', 'samtaler', '', '')} med "
               "endret Svar.", f"Replies to the invitations read: "
               f"{count(result.replies_written, '', '', 'conversation', 'conversations')} with a changed Svar."))
    elif result.report is not None:  # a run that sent: say once that this backend shows no answers
        say(tr(f"Svar på invitasjonene kan ikke ses med backend {result.backend}; kolonnen Svar fylles med backend "
               "graph eller ews, eller smtp med imap_host.", f"Replies to the invitations cannot be seen with the "
               f"{result.backend} backend; the Svar column is filled with graph or ews, or smtp with imap_host."))


def _sent(say: Say, result: InviteResult | RemindResult, problems: list[Problem],
          unit: tuple[str, str, str, str]) -> None:
    """Problems, the send report, the write-back; the exit code of the first thing that went wrong."""
    for problem in problems:
        say.warn(problem.render())
    if result.report is not None:
        send_report(say, result.report, unit, result.backend)
    if result.apply is not None:
        say.applied(result.apply)
    if result.report is not None and result.report.stopped is not None:
        say.error(result.report.stopped)
    elif result.apply is not None and result.apply.blocked:
        say.exit_code = EXIT_WORKBOOK
    elif problems or (result.report is not None and result.report.failed) or not result.confirmed:
        say.exit_code = EXIT_PROBLEMS


def send_report(say: Say, report: SendReport, unit: tuple[str, str, str, str], backend: str = "") -> None:
    """How many went out (or, with the outbox, were put in utboks/), and every recipient that did not get
    theirs, with the server's answer. `unit` is the noun: Norwegian one, many; English one, many."""
    for path in report.locations[:3]:
        say(tr(f"  skrevet {path}", f"  written {path}"))
    if len(report.locations) > 3:
        say(tr(f"  … og {len(report.locations) - 3} til", f"  … and {len(report.locations) - 3} more"))
    say(f"\n{count(len(report.delivered), *unit)} {delivered_word(backend)}.")
    if report.waited_seconds:
        say(tr(f"Serveren ba oss vente: {count(report.retries, 'nytt forsøk', 'nye forsøk', '', '')}, "
               f"{report.waited_seconds:.0f} s venting i alt.",
               f"The server asked us to wait: {count(report.retries, '', '', 'retry', 'retries')}, "
               f"{report.waited_seconds:.0f} s of waiting in all."))
    for item, failure in report.failed:
        say.warn(tr(f"  IKKE levert til {failure.email} ({item.describe}): {failure.code} {failure.message} – "
                    "prøves igjen ved neste kjøring",
                    f"  NOT delivered to {failure.email} ({item.describe}): {failure.code} {failure.message} – "
                    "retried on the next run"))
