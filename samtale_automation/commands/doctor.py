"""`samtale doctor`: check the configured mail backend end to end, and say what to fix.

The checks run in order and stop at the first that fails, since the later ones need it:
samtale.toml is valid → the backend can be set up (settings, secrets) → login and the mailbox
(`Backend.probe`) → free/busy can be read (backends that can) → the reply folder can be read
(backends that read a mailbox) → with `--test-item`, a test appointment in the organizer's
calendar is created and deleted again (ews, graph), or a test mail goes to the mailbox itself
(smtp). Every failure carries the setting to fix; a backend failure gives exit code 4.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import TYPE_CHECKING

from samtale_automation.backends import BackendContext, open_backend
from samtale_automation.commands.results import Check, DoctorReport
from samtale_automation.config import require_config
from samtale_automation.domain.messages import Backend, Cap, Mail, Meeting, NotSupported
from samtale_automation.errors import BackendError, SamtaleError
from samtale_automation.store.journalmode import WAL, journal_mode
from samtale_automation.texts import count, tr

if TYPE_CHECKING:
    from samtale_automation.commands.workspace import Workspace


def run_doctor(workspace: Workspace, *, test_item: bool = False, context: BackendContext | None = None,
               backend: Backend | None = None) -> DoctorReport:
    """Run the checks against the configured backend (or `backend`), stopping at the first failure."""
    report = DoctorReport()
    step = tr("samtale.toml er gyldig", "samtale.toml is valid")
    try:
        config = require_config(workspace.folder.config)
        report.backend = backend.name if backend else config.backend
        report.checks.append(Check(step, True, (tr(f"backend: {report.backend}", f"backend: {report.backend}"),)))
        step = tr(f"backend «{report.backend}» kan settes opp", f"the «{report.backend}» backend can be set up")
        backend = backend or open_backend(context or BackendContext(workspace.folder, config, workspace.now))
        report.checks.append(Check(step, True))
    except SamtaleError as error:
        report.checks.append(Check(step, False))
        report.failure = error
        return report
    try:
        _run_backend_checks(workspace, backend, report, test_item)
    finally:
        backend.close()
    if report.failure is None:
        report.checks.append(_journal_check(workspace))
    return report


def _journal_check(workspace: Workspace) -> Check:
    """Which SQLite mode the journal uses here and why (WAL on a local disk, rollback on a share or synced)."""
    mode, why = journal_mode(workspace.folder.journal)
    shown = "WAL" if mode == WAL else tr("rollback-journal", "rollback journal")
    return Check(tr("journalens modus passer mappen", "the journal's mode suits the folder"), True,
                 (tr(f"{shown}: {why}", f"{shown}: {why}"),))


def _run_backend_checks(workspace: Workspace, backend: Backend, report: DoctorReport, test_item: bool) -> None:
    steps = [(tr("innlogging og postkasse", "login and mailbox"), backend.probe)]
    if Cap.FREE_BUSY in backend.capabilities:
        steps.append((tr("ledig/opptatt kan leses", "free/busy can be read"), lambda: _free_busy(workspace, backend)))
    if Cap.READ_INBOX in backend.capabilities:
        steps.append((tr("svar-mappen kan leses", "the reply folder can be read"), lambda: _inbox(backend)))
    if test_item:
        steps.append((tr("testelement opprettet og slettet", "test item created and deleted"),
                      lambda: _test_item(workspace, backend)))
    for name, run in steps:
        try:
            details = run()
        except (SamtaleError, NotSupported) as error:
            report.checks.append(Check(name, False))
            report.failure = error if isinstance(error, SamtaleError) else BackendError(str(error))
            return
        report.checks.append(Check(name, True, tuple(details)))


def _free_busy(workspace: Workspace, backend: Backend) -> list[str]:
    mailbox = backend.mailbox.email
    start = workspace.now.replace(hour=0, minute=0, second=0, microsecond=0) + timedelta(days=1)
    busy = backend.free_busy([mailbox], start, start + timedelta(days=7))
    periods = [slot for slot in busy.get(mailbox, []) if slot.status != "free"]
    return [tr(f"{mailbox}: {count(len(periods), 'opptatt periode', 'opptatte perioder', '', '')} de neste 7 dagene",
               f"{mailbox}: {count(len(periods), '', '', 'busy period', 'busy periods')} in the next 7 days")]


def _inbox(backend: Backend) -> list[str]:
    files = list(backend.fetch_files())
    senders = len({f.sender.casefold() for f in files})
    return [tr(f"{count(len(files), 'returnert fil venter', 'returnerte filer venter', '', '')} (fra "
               f"{count(senders, 'avsender', 'avsendere', '', '')}); ingenting er flyttet",
               f"{count(len(files), '', '', 'returned file', 'returned files')} waiting (from "
               f"{count(senders, '', '', 'sender', 'senders')}); nothing was moved")]


def _test_item(workspace: Workspace, backend: Backend) -> list[str]:
    owner = backend.mailbox
    start = workspace.now.replace(hour=7, minute=0, second=0, microsecond=0) + timedelta(days=1)
    if Cap.SERVER_SIDE_STATE in backend.capabilities:
        key = f"doctor-{workspace.now:%Y%m%d%H%M%S}"
        meeting = Meeting(key=key, uid=f"samtale-{key}@samtale.invalid", sequence=0,
                          subject=tr("samtale doctor: testavtale (slettes straks)",
                                     "samtale doctor: test appointment (deleted at once)"),
                          start=start, end=start + timedelta(minutes=15), organizer=owner, attendees=())
        created = backend.upsert_meeting(meeting, ())
        if created.failures or not created.remote_id:
            raise BackendError(tr("Testavtalen ble ikke opprettet.", "The test appointment was not created."),
                               hint=tr("Kontroller at appen/tjenestekontoen har skrivetilgang til kalenderen.",
                                       "Check that the app/service account may write to the calendar."))
        deleted = backend.cancel_meeting(replace(meeting, remote_id=created.remote_id,
                                                 change_key=created.change_key), ())
        if deleted.failures:
            raise BackendError(tr("Testavtalen ble opprettet, men ikke slettet: slett den selv.",
                                  "The test appointment was created but not deleted: delete it yourself."))
        return [tr(f"testavtale i kalenderen til {owner.email} {start:%d.%m.%Y %H:%M} opprettet og slettet",
                   f"test appointment in {owner.email}'s calendar {start:%d.%m.%Y %H:%M} created and deleted")]
    mail = Mail(f"doctor:{workspace.now:%Y%m%d%H%M%S}", (owner,),
                tr("samtale doctor: testmelding", "samtale doctor: test message"),
                tr("Denne meldingen viser at samtale kan sende e-post. Den kan slettes.",
                   "This message shows that samtale can send e-mail. It may be deleted."))
    delivery = backend.send_mail(mail)
    if delivery.failures:
        failure = delivery.failures[0]
        raise BackendError(tr(f"Testmeldingen ble avvist: {failure.code} {failure.message}",
                              f"The test message was refused: {failure.code} {failure.message}"))
    where = f" ({delivery.location})" if delivery.location else ""
    return [tr(f"testmelding sendt til {owner.email}{where}", f"test message sent to {owner.email}{where}")]
