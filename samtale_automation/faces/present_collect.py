"""The presenter for `collect` and its mailbox fetch (see faces/present.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from samtale_automation.commands import results as r
from samtale_automation.errors import EXIT_OK, EXIT_PROBLEMS
from samtale_automation.store.kept_mail import GIVE_UP_AFTER
from samtale_automation.texts import count, tr

if TYPE_CHECKING:
    from samtale_automation.faces.present import Say


def fetched(say: Say, fetched: r.FetchResult) -> None:
    """What `collect --from-mailbox` fetched: one line per file, then the counts; exit 1 for quarantine."""
    labels = {r.TO_INCOMING: tr("hentet", "fetched"), r.TO_QUARANTINE: tr("karantene", "quarantined"),
              r.ALREADY_HERE: tr("kjent", "known"), r.LEFT_OUT: tr("utelatt", "left out"),
              r.NOT_STORED: tr("IKKE lagret", "NOT stored")}
    for item in fetched.files:
        why = f": {item.reason}" if item.reason else ""
        say(f"  {labels[item.outcome]:<10} {item.name} ({item.sender}){why}")
    files = fetched.count(r.TO_INCOMING)
    say(tr(f"Postkassen ({fetched.backend}): {count(files, 'fil', 'filer', '', '')} hentet til innkommende/, "
           f"{fetched.count(r.TO_QUARANTINE)} i karantene, "
           f"{count(fetched.handled_messages, 'melding', 'meldinger', '', '')} flyttet til behandlet-mappen.\n",
           f"Mailbox ({fetched.backend}): {count(files, '', '', 'file', 'files')} fetched into innkommende/, "
           f"{fetched.count(r.TO_QUARANTINE)} quarantined, "
           f"{count(fetched.handled_messages, '', '', 'message', 'messages')} moved to the done folder.\n"))
    if fetched.kept_messages:
        say(tr(f"{count(fetched.kept_messages, 'melding', 'meldinger', '', '')} ble liggende i postkassen fordi "
               "et vedlegg ikke kunne lagres; de hentes på nytt neste gang.\n",
               f"{count(fetched.kept_messages, '', '', 'message', 'messages')} were left in the mailbox because an "
               "attachment could not be stored; they are fetched again next time.\n"))
    for what in fetched.moved_aside:
        say.warn(tr(f"Flyttet til behandlet-mappen uten å hente vedlegget (forsøkt {GIVE_UP_AFTER} ganger): {what}. "
                    "Åpne meldingen der og lagre vedlegget i innkommende/ for hånd.",
                    f"Moved to the done folder without its attachment (tried {GIVE_UP_AFTER} times): {what}. Open "
                    "the message there and save the attachment in innkommende/ by hand."))
    if fetched.count(r.TO_QUARANTINE) or fetched.kept_messages or fetched.moved_aside:
        say.exit_code = EXIT_PROBLEMS


def collect(say: Say, result: r.CollectResult) -> None:
    """What `collect` decided per file, the signing files it made, the counts and the write."""
    from samtale_automation.plans.consolidate import ACCEPTED, DUPLICATE, QUARANTINED

    if result.fetched is not None:
        fetched(say, result.fetched)
    labels = {ACCEPTED: tr("mottatt", "accepted"), DUPLICATE: tr("duplikat", "duplicate"),
              QUARANTINED: tr("karantene", "quarantined")}
    for decision in result.plan.decisions:
        say(f"  {labels[decision.outcome]:<10} {decision.arrival.name}: {decision.reason}")
    for name, why in result.ignored:
        say(tr(f"  venter     {name}: {why}", f"  waiting    {name}: {why}"))
    for path in result.guides:
        say(tr(f"  samtaleguide {path.relative_to(result.root)}", f"  guide        {path.relative_to(result.root)}"))
    signing_labels = {"finalise": tr("til leder   ", "to manager  "), "countersign": tr("til signering",
                                                                                       "to countersign"),
                      "signed_pdf": tr("signert PDF ", "signed PDF  ")}
    for kind, path in result.signing_files:
        say(f"  {signing_labels.get(kind, kind)} {path.relative_to(result.root)}")
    for path, why in result.signing_failed:
        say(tr(f"  ikke laget  {path.relative_to(result.root)}: {why}",
               f"  not made    {path.relative_to(result.root)}: {why}"))
        say.exit_code = EXIT_PROBLEMS
    if result.dry_run:
        say(tr("\nPrøvekjøring: ingenting er flyttet eller skrevet.", "\nDry run: nothing was moved or written."))
        say.exit_code = EXIT_OK
        return
    counts = {outcome: sum(d.outcome == outcome for d in result.plan.decisions) for outcome in labels}
    say(tr(f"\n{counts[ACCEPTED]} mottatt, {count(counts[DUPLICATE], 'duplikat', 'duplikater', '', '')}, "
           f"{counts[QUARANTINED]} i karantene, {len(result.ignored)} venter.",
           f"\n{counts[ACCEPTED]} accepted, {count(counts[DUPLICATE], '', '', 'duplicate', 'duplicates')}, "
           f"{counts[QUARANTINED]} quarantined, "
           f"{len(result.ignored)} waiting."))
    if result.apply is not None:
        say.applied(result.apply)
    if say.exit_code == EXIT_OK and counts[QUARANTINED]:
        say.exit_code = EXIT_PROBLEMS
