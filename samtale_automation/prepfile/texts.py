"""Every text shown in prep files and conversation guides, in bokmål and English.

The file's language is `PrepContent.lang` (the employee's), not the language of the running
process, so these texts are picked with `text(lang, key)` rather than `texts.tr`.
"""

from __future__ import annotations

from datetime import date, datetime

from samtale_automation.domain.model import OSLO
from samtale_automation.texts import WEEKDAYS, lang_code

_TEXTS: dict[str, tuple[str, str]] = {
    # ---- shared labels ----
    "employee": ("Medarbeider", "Employee"),
    "manager": ("Leder", "Manager"),
    "when": ("Tid og sted", "Time and place"),
    "deadline": ("Frist", "Deadline"),
    "not_scheduled": ("Ikke avtalt ennå", "Not scheduled yet"),
    "purpose_head": ("Formål", "Purpose"),
    "confidential_head": ("Fortrolig", "Confidential"),
    "howto_head": ("Slik gjør du", "How to"),
    "footer": ("Fortrolig", "Confidential"),
    "page": ("Side &P av &N", "Page &P of &N"),
    "empty": ("(ikke fylt ut)", "(not filled in)"),
    "at": ("kl.", "at"),
    # ---- employee preparation ----
    "prep_title": ("Forberedelse til medarbeidersamtale {round}",
                   "Preparing for your development conversation {round}"),
    "prep_deadline": ("Send skjemaet tilbake senest {date}.", "Please return this form by {date}."),
    "purpose_employee": (
        "Medarbeidersamtalen er en planlagt og grundig samtale mellom deg og lederen din, ulik den løpende "
        "dialogen gjennom året. Dere ser tilbake på perioden som har gått, blir enige om mål og retning, og "
        "snakker om kompetanse, trivsel, samarbeid og hvordan lederen din kan støtte deg. Samtalen blir best "
        "når begge er godt forberedt: velg spørsmålene som betyr mest for deg, og skriv gjerne ned egne tanker.",
        "The development conversation is a planned, thorough conversation between you and your manager, "
        "different from the everyday dialogue during the year. You look back on the past period, agree on "
        "goals and direction, and talk about competence, well-being, collaboration and how your manager can "
        "support you. It works best when both of you are well prepared: choose the questions that matter most "
        "to you, and feel free to write down your own thoughts."),
    "confidential_employee": (
        "Samtalen og det du skriver her er fortrolig mellom deg og lederen din. Du bestemmer selv hvor "
        "personlig du vil være.",
        "The conversation and what you write here are confidential between you and your manager. You decide "
        "how personal you want to be."),
    "howto_employee": (
        "1. Velg inntil {max} spørsmål ved å sette «{yes}» i kolonnen Velg. Spørsmål merket «obligatorisk» er "
        "valgt på forhånd og teller med.\n"
        "2. Skriv gjerne stikkord til spørsmålene du har valgt.\n"
        "3. Se på tiltakene fra forrige samtale, og skriv hvordan du synes de har gått.\n"
        "4. Lagre filen (som .xlsx) og send den tilbake som vedlegg i et svar på e-posten du fikk den i.",
        "1. Choose up to {max} questions by setting «{yes}» in the Choose column. Questions marked «mandatory» "
        "are chosen in advance and count towards the limit.\n"
        "2. Feel free to write notes on the questions you chose.\n"
        "3. Look at the actions from your last conversation and write how you think they went.\n"
        "4. Save the file (as .xlsx) and return it as an attachment in a reply to the e-mail it came with."),
    "questions_head": ("Velg spørsmål", "Choose questions"),
    "counter": ("{n} av {max} valgt", "{n} of {max} chosen"),
    "counter_tail": (" av {max} valgt", " of {max} chosen"),
    "col_id": ("Nr.", "No."),
    "col_question": ("Spørsmål og hjelpespørsmål", "Question and follow-up questions"),
    "col_choose": ("Velg", "Choose"),
    "col_notes": ("Dine notater", "Your notes"),
    "mandatory": ("obligatorisk", "mandatory"),
    "choose_title": ("Velg spørsmålet", "Choose the question"),
    "choose_message": ("Sett «{yes}» for å velge spørsmålet. Du kan velge inntil {max}.",
                       "Set «{yes}» to choose the question. You can choose up to {max}."),
    "choose_error": ("Velg «{yes}» eller «{no}» fra listen.", "Pick «{yes}» or «{no}» from the list."),
    "past_head": ("Tiltak fra forrige samtale", "Actions from the last conversation"),
    "past_intro_employee": ("Hvordan har det gått med tiltakene dere ble enige om? Skriv din egen vurdering.",
                            "How have the actions you agreed on gone? Write your own assessment."),
    "no_past": ("Ingen tiltak fra forrige samtale.", "No actions from the last conversation."),
    "col_action_id": ("TiltakID", "Action ID"),
    "col_action": ("Tiltak", "Action"),
    "col_status": ("Status", "Status"),
    "col_assessment": ("Din vurdering", "Your assessment"),
    "goal_prefix": ("Mål: ", "Goal: "),
    "deadline_prefix": ("Frist: ", "Deadline: "),
    "other_head": ("Andre tema du vil ta opp", "Other topics you want to raise"),
    "feedback_head": ("Tilbakemelding til lederen din", "Feedback to your manager"),
    "feedback_hint": ("Hva gjør lederen din som hjelper deg, og hva kunne vært gjort annerledes?",
                      "What does your manager do that helps you, and what could be done differently?"),
    # ---- manager preparation ----
    "manager_title": ("Lederens forberedelse til medarbeidersamtale {round}",
                      "Manager's preparation for the development conversation {round}"),
    "manager_deadline": ("Vær forberedt senest {date}.", "Be prepared by {date}."),
    "purpose_manager": (
        "Begge parter skal være forberedt. Tenk gjennom perioden som har gått, hvilke tilbakemeldinger du vil "
        "gi og hvilke muligheter for utvikling du ser. Er en av dere ikke forberedt, er det bedre å flytte "
        "samtalen enn å gjennomføre den. Venter du vanskelige tema, bestem på forhånd hvordan du vil ta dem "
        "opp og hva du ønsker å oppnå.",
        "Both parties should be prepared. Think through the past period, the feedback you want to give and the "
        "development opportunities you see. If either of you is not prepared, it is better to move the "
        "conversation than to hold it. If you expect difficult topics, decide in advance how you will raise "
        "them and what you want to achieve."),
    "confidential_manager": (
        "Forberedelsen og samtalen er fortrolige. Filen inneholder bare opplysninger om denne samtalen.",
        "Your preparation and the conversation are confidential. This file holds only information about this "
        "conversation."),
    "howto_manager": (
        "1. Skriv ditt syn på perioden, tilbakemeldingene du vil gi og ideer til utvikling.\n"
        "2. Vurder tiltakene fra forrige samtale.\n"
        "3. Lagre filen (som .xlsx) og send den tilbake som vedlegg i et svar på e-posten, så blir det "
        "registrert at du er forberedt. Når medarbeiderens forberedelse er kommet, får du en samtaleguide.\n"
        "4. Etter samtalen: ferdigstill referatet i arket Referat, og signer.",
        "1. Write your view of the period, the feedback you want to give and ideas for development.\n"
        "2. Assess the actions from the last conversation.\n"
        "3. Save the file (as .xlsx) and return it as an attachment in a reply to the e-mail, so that you are "
        "recorded as prepared. Once the employee's preparation is back, you get a conversation guide.\n"
        "4. After the conversation: finalise the minutes in the Minutes sheet, and sign."),
    "past_intro_manager": ("Tiltakene dere ble enige om sist. Skriv din vurdering av hvordan de har gått.",
                           "The actions you agreed on last time. Write your assessment of how they went."),
    "view_head": ("Ditt syn på perioden", "Your view of the period"),
    "view_hint": ("Resultater, styrker og områder for utvikling. Hvordan har det gått siden forrige samtale?",
                  "Results, strengths and areas for development. How have things gone since the last "
                  "conversation?"),
    "give_head": ("Tilbakemeldinger du vil gi", "Feedback you want to give"),
    "give_hint": ("Konkret og konstruktivt: hva skal medarbeideren fortsette med, og hva kan bli bedre?",
                  "Concrete and constructive: what should the employee keep doing, and what could be better?"),
    "ideas_head": ("Ideer til utvikling", "Development ideas"),
    "ideas_hint": ("Kompetanse, oppgaver og mål for perioden som kommer, knyttet til virksomhetens mål.",
                   "Competence, tasks and goals for the coming period, tied to the company's goals."),
    # ---- minutes ----
    "minutes_title": ("Referat fra medarbeidersamtale {round}", "Minutes of the development conversation {round}"),
    "minutes_intro": (
        "Medarbeideren skriver referatet etter samtalen, helst innen {days} dager. Lederen ferdigstiller det, "
        "og begge signerer. Referatet er fortrolig.",
        "The employee writes the minutes after the conversation, preferably within {days} days. The manager "
        "finalises them, and both sign. The minutes are confidential."),
    "register_line": (
        "Dette kopierer samtale til registeret: de avtalte tiltakene (tiltak, mål, ansvarlig, frist og "
        "oppfølging) og datoene dere signerte. Det private notatet blir bare i denne filen: det kopieres aldri "
        "til registeret og sendes aldri til noen, heller ikke til den andre i samtalen.",
        "What samtale copies to the register: the agreed actions (action, goal, owner, deadline and follow-up) "
        "and the dates you signed. The private note stays in this file only: it is never copied to the "
        "register and never sent to anyone, the other person in the conversation included."),
    "summary_head": ("Sammendrag per tema", "Summary per topic"),
    "col_topic": ("Tema", "Topic"),
    "col_summary": ("Sammendrag", "Summary"),
    "actions_head": ("Avtalte tiltak", "Agreed actions"),
    "actions_hint": (
        "Konkrete tiltak med ansvarlig og frist, knyttet til mål. Skriv fristen som dato (dd.mm.åååå). "
        "Trenger du flere rader, sett inn rader inne i tabellen.",
        "Concrete actions with an owner and a deadline, tied to goals. Write the deadline as a date. "
        "Need more rows? Insert rows inside the table."),
    "col_goal": ("Mål", "Goal"),
    "col_owner": ("Ansvarlig", "Owner"),
    "col_deadline": ("Frist", "Deadline"),
    "col_follow_up": ("Oppfølging (dato)", "Follow-up (date)"),
    "col_version": ("Versjon signert", "Version signed"),
    "signed_version": ("versjon {version}", "version {version}"),
    "earlier_version": ("du signerte versjon {version}", "you signed version {version}"),
    "copy_ansatt": (
        "Dette er lederens endelige versjon ({version}) av referatet. Les den, og signer med navn og dato nederst "
        "hvis du er enig. Endrer du noe, går den nye versjonen tilbake til lederen.",
        "This is your manager's final version ({version}) of the minutes. Read it, and sign with your name and "
        "the date at the bottom if you agree. If you change anything, the new version goes back to your "
        "manager."),
    "copy_leder": (
        "Dette er referatet medarbeideren skrev (versjon {version}). Ferdigstill det og signer med navn og dato "
        "nederst. Endrer du innholdet, får medarbeideren den endelige versjonen til kontrasignering.",
        "These are the minutes the employee wrote (version {version}). Finalise them and sign with your name and "
        "the date at the bottom. If you change the content, the employee gets the final version to "
        "countersign."),
    "date_title": ("Dato", "Date"),
    "date_message": ("Skriv en dato, for eksempel 15.03.2027.", "Enter a date, for example 15.03.2027."),
    "date_error": ("Skriv en gyldig dato (dd.mm.åååå).", "Enter a valid date."),
    "private_head": ("Privat notat (valgfritt)", "Private note (optional)"),
    "private_notice": ("Notatet blir stående i din arkiverte fil. samtale kopierer det aldri til registeret og "
                       "sender det aldri videre – heller ikke til den andre i samtalen.",
                       "The note stays in your archived file. samtale never copies it to the register and never "
                       "passes it on – not to the other person in the conversation either."),
    "sign_head": ("Signering", "Sign-off"),
    "col_name": ("Navn", "Name"),
    "col_date": ("Dato", "Date"),
    "sign_employee": ("Medarbeider ({name})", "Employee ({name})"),
    "sign_manager": ("Leder ({name})", "Manager ({name})"),
    # ---- conversation guide ----
    "guide_title": ("Samtaleguide: medarbeidersamtale {round}", "Conversation guide: development conversation {round}"),
    "guide_intro": (
        "Medarbeiderens valgte spørsmål med hjelpespørsmål og egne notater, og tiltakene fra forrige samtale. "
        "Minn om at samtalen er fortrolig. Still åpne spørsmål («hva tror du selv?», «hvordan kan du …?»), "
        "lytt aktivt og følg opp med utdypende spørsmål. Avslutt med konkrete tiltak med ansvarlig og frist.",
        "The employee's chosen questions with their follow-up questions and own notes, and the actions from the "
        "last conversation. Remind the employee that the conversation is confidential. Ask open questions "
        "(«what do you think?», «how could you …?»), listen actively and follow up with deeper questions. "
        "Close with concrete actions that have an owner and a deadline."),
    "missing_topic": ("Ikke lenger i menyen", "No longer in the menu"),
    "missing_question": ("Spørsmål {id} (ikke lenger i spørsmålsmenyen)",
                         "Question {id} (no longer in the question menu)"),
    "guide_questions_head": ("Valgte spørsmål", "Chosen questions"),
    "none_chosen": ("Medarbeideren valgte ingen spørsmål.", "The employee chose no questions."),
    "noted_head": ("Notater til spørsmål som ikke er valgt", "Notes on questions that were not chosen"),
    "col_employee_notes": ("Medarbeiderens notater", "The employee's notes"),
    "col_your_notes": ("Dine notater", "Your notes"),
    "col_employee_assessment": ("Medarbeiderens vurdering", "The employee's assessment"),
    "guide_other_head": ("Andre tema medarbeideren vil ta opp", "Other topics the employee wants to raise"),
    "guide_feedback_head": ("Tilbakemelding til deg som leder", "Feedback to you as the leader"),
}

def text(lang: str, key: str, **values: object) -> str:
    """Return the text `key` in `lang` (en, else bokmål) with `{placeholders}` filled in."""
    nb, en = _TEXTS[key]
    chosen = en if lang == "en" else nb
    return chosen.format(**values) if values else chosen


def format_date(day: date | None) -> str:
    """Write a date as dd.mm.åååå, the way Norwegian users read it; blank for None."""
    return day.strftime("%d.%m.%Y") if day else ""


def format_when(lang: str, start: datetime | None, place: str) -> str:
    """Write a conversation's time and place, e.g. «tirsdag 12.01.2027 kl. 09:00, Møterom 2»."""
    if start is None:
        when = text(lang, "not_scheduled")
    else:
        local = start.astimezone(OSLO) if start.tzinfo else start
        weekday = WEEKDAYS[lang_code(lang)][local.weekday()]
        when = f"{weekday} {local:%d.%m.%Y} {text(lang, 'at')} {local:%H:%M}"
    return f"{when}, {place}" if place else when
