"""Why a returned file is not read: one Norwegian (and English) reason per kind, saying what to do."""

from __future__ import annotations

from samtale_automation.errors import SamtaleError
from samtale_automation.texts import tr


class RejectedFile(SamtaleError):
    """A returned file that is not read; `.reason` says what is wrong and what to do."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def reason(kind: str, **values: object) -> str:
    """The message for one kind of rejection, in the current language."""
    texts: dict[str, tuple[str, str]] = {
        "unreadable": ("Filen kunne ikke leses ({detail}). Sjekk at den finnes og ikke er åpen i et annet "
                       "program, og prøv igjen.",
                       "The file could not be read ({detail}). Check that it exists and is not open in another "
                       "program, and try again."),
        "empty": ("Filen er tom (0 byte). Lagre skjemaet på nytt i Excel og send det igjen.",
                  "The file is empty (0 bytes). Save the form again in Excel and send it again."),
        "too_large": ("Filen er for stor (over {limit} MB). Et utfylt skjema er vanligvis under 100 kB. Fjern "
                      "bilder og innlimte objekter, eller send det opprinnelige skjemaet utfylt på nytt.",
                      "The file is too large (over {limit} MB). A filled-in form is usually under 100 kB. Remove "
                      "pictures and pasted objects, or send the original form filled in again."),
        "text": ("Filen er ikke en Excel-arbeidsbok, men en tekst- eller CSV-fil. Åpne skjemaet du fikk "
                 "tilsendt i Excel, fyll det ut og lagre det som «Excel-arbeidsbok (*.xlsx)».",
                 "The file is not an Excel workbook but a text or CSV file. Open the form you were sent in "
                 "Excel, fill it in and save it as «Excel Workbook (*.xlsx)»."),
        "xls": ("Filen er i det gamle .xls-formatet (eller er en annen eldre Office-fil). Lagre skjemaet som "
                "«Excel-arbeidsbok (*.xlsx)» og send det på nytt.",
                "The file is in the old .xls format (or is another old Office file). Save the form as «Excel "
                "Workbook (*.xlsx)» and send it again."),
        "encrypted": ("Filen er passordbeskyttet (kryptert), så samtale kan ikke lese den. Fjern passordet "
                      "(Fil > Info > Beskytt arbeidsbok) og send filen på nytt.",
                      "The file is password-protected (encrypted), so samtale cannot read it. Remove the "
                      "password (File > Info > Protect Workbook) and send the file again."),
        "ods": ("Filen er lagret i LibreOffice-formatet .ods. Velg «Lagre som», formatet «Excel 2007-365 "
                "(.xlsx)», og send den på nytt.",
                "The file is saved in LibreOffice's .ods format. Use «Save As» with the format «Excel "
                "2007-365 (.xlsx)» and send it again."),
        "xlsb": ("Filen er lagret som binær Excel-arbeidsbok (.xlsb). Lagre den som «Excel-arbeidsbok "
                 "(*.xlsx)» og send den på nytt.",
                 "The file is saved as an Excel binary workbook (.xlsb). Save it as «Excel Workbook (*.xlsx)» "
                 "and send it again."),
        "other_office": ("Filen er et Word- eller PowerPoint-dokument, ikke skjemaet. Send det utfylte "
                         "Excel-skjemaet (.xlsx).",
                         "The file is a Word or PowerPoint document, not the form. Send the filled-in Excel "
                         "form (.xlsx)."),
        "not_xlsx": ("Filen er ikke en Excel-arbeidsbok (.xlsx). Send skjemaet du fikk tilsendt, utfylt og "
                     "lagret som .xlsx.",
                     "The file is not an Excel workbook (.xlsx). Send the form you were sent, filled in and "
                     "saved as .xlsx."),
        "damaged": ("Filen er skadet og kan ikke leses. Åpne den i Excel: går det, lagre den på nytt som .xlsx "
                    "og send den igjen; ellers be om et nytt skjema.",
                    "The file is damaged and cannot be read. Open it in Excel: if that works, save it again as "
                    ".xlsx and send it again; otherwise ask for a new form."),
        "zip_entries": ("Filen har for mange deler (over {limit}) til å være et utfylt skjema. Send det "
                        "opprinnelige skjemaet utfylt på nytt.",
                        "The file has too many parts (over {limit}) to be a filled-in form. Send the original "
                        "form filled in again."),
        "zip_bomb": ("Filen pakkes ut til langt mer enn et skjema kan inneholde (mulig «zip-bombe»), og er "
                     "ikke åpnet. Send det opprinnelige skjemaet utfylt på nytt.",
                     "The file expands to far more than a form can hold (possibly a «zip bomb») and was not "
                     "opened. Send the original form filled in again."),
        "too_big_sheet": ("Et ark i filen er langt større enn skjemaet (for mange rader, kolonner eller tekster). "
                          "Send det opprinnelige skjemaet utfylt på nytt.",
                          "A sheet in the file is far larger than the form (too many rows, columns or texts). "
                          "Send the original form filled in again."),
        "xml_unsafe": ("Filen inneholder XML som et Excel-skjema aldri har (en DTD, entiteter eller en uvanlig "
                       "tegnkoding), og er ikke åpnet av sikkerhetshensyn. Send det opprinnelige skjemaet utfylt "
                       "på nytt, lagret fra Excel.",
                       "The file contains XML that an Excel form never has (a DTD, entities or an unusual "
                       "encoding) and was not opened, for safety. Send the original form filled in again, saved "
                       "from Excel."),
        "region_too_big": ("Området «{name}» i skjemaet er langt større enn skjemaet lager ({rows} rader, {columns} "
                           "kolonner), så filen er ikke lest. Bruk skjemaet du fikk tilsendt, eller be om et nytt.",
                           "The area «{name}» in the form is far larger than the form makes ({rows} rows, "
                           "{columns} columns), so the file was not read. Use the form you were sent, or ask for "
                           "a new one."),
        "read_error": ("Filen kunne ikke leses ({detail}) og er ikke registrert. Åpne den i Excel og lagre den "
                       "på nytt som .xlsx, eller be om et nytt skjema. Skjer det igjen, meld fra til den som "
                       "drifter samtale.",
                       "The file could not be read ({detail}) and was not recorded. Open it in Excel and save it "
                       "again as .xlsx, or ask for a new form. If it happens again, tell whoever runs samtale."),
        "plan_error": ("Filen ble lest, men kunne ikke behandles ({detail}), og er ikke registrert. De andre "
                       "filene er behandlet. Legg filen tilbake i innkommende/ for å prøve igjen; skjer det igjen, "
                       "meld fra til den som drifter samtale.",
                       "The file was read but could not be processed ({detail}) and was not recorded. The other "
                       "files were processed. Put the file back in innkommende/ to try again; if it happens "
                       "again, tell whoever runs samtale."),
        "identity_missing": ("Filen mangler samtale-identiteten (det skjulte arket som sier hvilken samtale den "
                             "gjelder). Bruk skjemaet du fikk tilsendt, ikke en kopi i en ny arbeidsbok.",
                             "The file lacks the conversation identity (the hidden sheet saying which "
                             "conversation it belongs to). Use the form you were sent, not a copy in a new "
                             "workbook."),
        "identity_invalid": ("Identiteten i filen stemmer ikke: den er endret, eller filen er laget for en annen "
                             "samtale-mappe. Filen er ikke lest. Be HR om et nytt skjema.",
                             "The identity in the file does not verify: it was changed, or the file was made "
                             "for another samtale folder. The file was not read. Ask HR for a new form."),
        "template_unknown": ("Filen er laget med malversjon «{version}», som denne versjonen av samtale ikke "
                             "kjenner. Oppdater samtale, eller be HR lage skjemaet på nytt.",
                             "The file was made with template version «{version}», which this version of "
                             "samtale does not know. Update samtale, or ask HR to make the form again."),
        "layout": ("Skjemaet er endret slik at området «{name}» ikke finnes lenger (slettet rader eller ark?). "
                   "Angre endringen og send filen på nytt, eller be om et nytt skjema.",
                   "The form was changed so that the area «{name}» no longer exists (deleted rows or sheets?). "
                   "Undo the change and send the file again, or ask for a new form."),
        "too_many_choices": ("Det er valgt {count} spørsmål, men grensen er {limit}. Fjern «Ja» fra {extra} av "
                             "dem og send filen på nytt.",
                             "{count} questions are chosen, but the limit is {limit}. Remove «Ja»/«Yes» from "
                             "{extra} of them and send the file again."),
        "minutes": ("Referatet har feil som må rettes før det kan registreres: {items}. Rett dem i arket "
                    "Referat og send filen på nytt.",
                    "The minutes have errors that must be fixed before they can be registered: {items}. Fix "
                    "them in the Minutes sheet and send the file again."),
    }
    nb, en = texts[kind]
    return tr(nb, en).format(**values)
