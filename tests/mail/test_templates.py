"""E-mail templates: every shipped template renders, overrides in maler/ win, errors are readable."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import jinja2
import pytest
from markupsafe import Markup

from samtale_automation.domain.messages import Person
from samtale_automation.domain.model import OSLO
from samtale_automation.errors import ConfigError, UsageError
from samtale_automation.mail.filters import format_action_status, format_clock, format_long_date, format_short_date
from samtale_automation.mail.samples import sample_context
from samtale_automation.mail.templates import (
    FRAGMENTS,
    LANGUAGES,
    MAIL_TEMPLATES,
    STANDARD,
    TEMPLATE_NAMES,
    Templates,
    file_names,
    list_templates,
    standard_dir,
    stray_overrides,
    template_files,
)

ALL = [(name, lang) for name in TEMPLATE_NAMES for lang in LANGUAGES]
WITH_EMPLOYEE = [name for name in MAIL_TEMPLATES if name != "digest"]


def render_any(name: str, lang: str, context: dict[str, Any], override_dir: Path | None = None) -> tuple[str, str]:
    """Render a mail template or a fragment and return (text, html)."""
    templates = Templates(lang, override_dir)
    if name in FRAGMENTS:
        fragment = templates.fragment(name, context)
        return fragment.text, str(fragment.html)
    rendered = templates.render(name, context)
    return rendered.text, rendered.html


@pytest.fixture
def maler(tmp_path: Path) -> Path:
    """An empty maler/ folder next to a (pretend) workbook."""
    folder = tmp_path / "maler"
    folder.mkdir()
    return folder


# ---- the shipped templates ---------------------------------------------------------------


@pytest.mark.parametrize(("name", "lang"), ALL)
def test_every_template_renders_with_its_sample(name: str, lang: str) -> None:
    """Verify each template renders in both languages under StrictUndefined, with no None or jinja left over."""
    text, html = render_any(name, lang, sample_context(name, lang))
    assert text.strip() and html.strip()
    for output in (text, html):
        assert "None" not in output
        assert "{{" not in output and "{%" not in output
    assert text == text.strip() + ("\n" if name in MAIL_TEMPLATES else "")
    if name in MAIL_TEMPLATES:
        assert html.lstrip().startswith("<!DOCTYPE html>")
        assert f'<html lang="{lang}">' in html


@pytest.mark.parametrize(("name", "lang"), ALL)
def test_html_is_simple(name: str, lang: str) -> None:
    """Verify the HTML has no style sheets, scripts or external images (Exchange converts meeting bodies)."""
    _, html = render_any(name, lang, sample_context(name, lang))
    for banned in ("<style", "<link", "<script", "<img", "http://", "https://", "class="):
        assert banned not in html


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("name", MAIL_TEMPLATES)
def test_subject_is_one_line_with_the_employee(name: str, lang: str) -> None:
    """Verify a subject is one stripped line and names the employee wherever there is one."""
    context = sample_context(name, lang)
    subject = Templates(lang).render(name, context).subject
    assert subject and "\n" not in subject and subject == subject.strip() and "  " not in subject
    if name in WITH_EMPLOYEE:
        assert context["employee"].name in subject


def test_shipped_languages_have_the_same_files() -> None:
    """Verify nb and en hold exactly the same file names, and exactly the files each template needs."""
    nb = sorted(path.name for path in standard_dir("nb").iterdir())
    en = sorted(path.name for path in standard_dir("en").iterdir())
    assert nb == en
    assert nb == sorted(file_name for name in TEMPLATE_NAMES for file_name in file_names(name))


def test_fragments_have_no_subject() -> None:
    """Verify reminder fragments are text and HTML only, mail templates have a subject too."""
    assert file_names("reminder_sign") == ("reminder_sign.txt", "reminder_sign.html")
    assert file_names("invitation") == ("invitation.subject.txt", "invitation.txt", "invitation.html")
    assert set(TEMPLATE_NAMES) == set(MAIL_TEMPLATES) | set(FRAGMENTS)
    assert len(FRAGMENTS) == 11


def test_invitation_nb_has_what_a_good_conversation_needs() -> None:
    """Verify the invitation names the prep deadline in Norwegian, the attachment, the agreements and the basics."""
    context = sample_context("invitation", "nb")
    rendered = Templates("nb").render("invitation", context)
    for body in (rendered.text, rendered.html):
        assert "torsdag 7. januar 2027" in body
        assert context["attachment_name"] in body
        for action in context["past_actions"]:
            assert action["description"] in body
        assert "mandag 11. januar 2027 kl. 09.00–10.15" in body
        assert "Møterom Fjorden" in body
        for word in ("fortrolig", "lydløs", "forstyrret", "lønnsforhandling", "ti spørsmålene", "Hei Kari og Bjørn"):
            assert word in body
    assert "(frist 30.06.2026, status: Fullført)" in rendered.text


def test_invitation_en_translates_the_action_status() -> None:
    """Verify the English invitation shows statuses in English and dates the English way."""
    text = Templates("en").render("invitation", sample_context("invitation", "en")).text
    assert "(deadline 30 Jun 2026, status: Done)" in text
    assert "Thursday 7 January 2027" in text
    assert "Monday 11 January 2027, 09:00–10:15" in text


@pytest.mark.parametrize("lang", LANGUAGES)
def test_invitation_without_place_or_past_actions(lang: str) -> None:
    """Verify an empty place and no past actions leave no empty labels or headings behind."""
    context = {**sample_context("invitation", lang), "place": "", "past_actions": []}
    rendered = Templates(lang).render("invitation", context)
    assert "Sted:" not in rendered.text and "Where:" not in rendered.text
    assert "forrige samtale" not in rendered.text and "last conversation" not in rendered.text
    assert "<ul>" not in rendered.html
    assert "\n\n\n" not in rendered.text


def test_update_says_the_conversation_moved() -> None:
    """Verify the update names the old time when it moved and keeps the invitation's subject."""
    context = sample_context("update", "nb")
    rendered = Templates("nb").render("update", context)
    assert "flyttet" in rendered.text and "fredag 8. januar 2027 kl. 13.00" in rendered.text
    assert rendered.subject == Templates("nb").render("invitation", sample_context("invitation", "nb")).subject
    unchanged = Templates("nb").render("update", {**context, "previous_start": None})
    assert "flyttet" not in unchanged.text and "endring" in unchanged.text


def test_cancellation_with_and_without_reason() -> None:
    """Verify the reason appears when given and leaves no label when empty."""
    context = sample_context("cancellation", "nb")
    assert "Årsak: Kari er sykmeldt" in Templates("nb").render("cancellation", context).text
    rendered = Templates("nb").render("cancellation", {**context, "reason": ""})
    assert "Årsak" not in rendered.text and "avlyst" in rendered.text
    assert rendered.subject.startswith("Avlyst: ")


def test_manager_prep_promises_the_guide() -> None:
    """Verify the manager's mail carries the manager's file name and says the guide follows."""
    context = sample_context("manager_prep", "nb")
    text = Templates("nb").render("manager_prep", context).text
    assert context["attachment_name"] in text and "samtaleguide" in text and "Hei Bjørn" in text


def test_follow_up_greets_a_third_owner() -> None:
    """Verify a follow-up greets the owner too when the owner is neither employee nor manager."""
    context = sample_context("follow_up", "nb")
    assert "Hei Kari og Bjørn," in Templates("nb").render("follow_up", context).text
    hr = Person("ase.kjaerstad@fjordlys.example", "Åse Kjærstad")
    text = Templates("nb").render("follow_up", {**context, "owner": hr}).text
    assert "Hei Kari, Bjørn og Åse," in text and "Ansvarlig: Åse Kjærstad" in text


def test_follow_up_subject_shortens_a_long_action() -> None:
    """Verify a long action description is cut at a word in the subject."""
    context = sample_context("follow_up", "en")
    long = {**context["action"], "description": "Learn " + "very " * 30 + "much"}
    subject = Templates("en").render("follow_up", {**context, "action": long}).subject
    assert "…" in subject and len(subject) < 100 and subject.endswith("(Kari Nordvik)")


@pytest.mark.parametrize(("lang", "one", "three"), [("nb", "1 oppgave venter", "3 oppgaver venter"),
                                                    ("en", "1 thing is waiting", "3 things are waiting")])
def test_digest_subject_counts_items(lang: str, one: str, three: str) -> None:
    """Verify the digest's subject says how many things are waiting, singular and plural."""
    context = sample_context("digest", lang)
    assert three in Templates(lang).render("digest", context).subject
    single = Templates(lang).render("digest", {**context, "items": context["items"][:1]})
    assert one in single.subject


def test_digest_embeds_fragment_html_unescaped() -> None:
    """Verify the digest puts each fragment's HTML in as markup and its text indented under a number."""
    context = sample_context("digest", "nb")
    rendered = Templates("nb").render("digest", context)
    assert all(isinstance(item.html, Markup) for item in context["items"])
    assert "<li" in rendered.html and "&lt;p" not in rendered.html
    assert "<strong>Referatet fra Kari Nordvik er kommet" in rendered.html
    assert "\n1. Referatet fra Kari Nordvik" in rendered.text
    assert "\n   Kari har skrevet referatet" in rendered.text


@pytest.mark.parametrize("name", FRAGMENTS)
def test_fragments_tolerate_missing_optional_values(name: str) -> None:
    """Verify fragments render when the optional values (time, place, deadline, attachment) are None or empty."""
    context = {**sample_context(name, "nb"), "start": None, "end": None, "place": "", "deadline": None,
               "attachment_name": None, "conversation_id": None}
    for lang in LANGUAGES:
        text, html = render_any(name, lang, {**context, "lang": lang})
        assert text and "None" not in text and "None" not in html


def test_fragment_context_has_every_key() -> None:
    """Verify every fragment's sample context carries the same, complete set of keys."""
    keys = {"recipient", "employee", "manager", "start", "end", "place", "deadline", "action", "attachment_name",
            "conversation_id", "round", "company", "lang"}
    for name in FRAGMENTS:
        assert set(sample_context(name, "nb")) == keys


def test_prep_manager_fragment_with_and_without_guide() -> None:
    """Verify the manager's reminder mentions the attached guide, or says it comes later."""
    context = sample_context("reminder_prep_manager", "nb")
    assert "Samtaleguiden ligger ved" in Templates("nb").fragment("reminder_prep_manager", context).text
    later = Templates("nb").fragment("reminder_prep_manager", {**context, "attachment_name": None}).text
    assert "kommer når" in later


# ---- escaping -----------------------------------------------------------------------------


@pytest.mark.parametrize("lang", LANGUAGES)
def test_data_is_escaped_in_html_only(lang: str) -> None:
    """Verify a name like <script> is escaped in HTML and stays literal in the subject and text."""
    evil = Person("x@example.com", "<script>alert(1)</script> Hansen")
    context = {**sample_context("invitation", lang), "employee": evil, "place": "Rom <b>1</b> & 2"}
    rendered = Templates(lang).render("invitation", context)
    assert "<script>" not in rendered.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in rendered.html
    assert "Rom &lt;b&gt;1&lt;/b&gt; &amp; 2" in rendered.html
    assert "<script>alert(1)</script> Hansen" in rendered.subject
    assert "<script>alert(1)</script>" in rendered.text and "Rom <b>1</b> & 2" in rendered.text


def test_fragment_html_is_escaped_markup() -> None:
    """Verify a fragment's HTML escapes the action text and is Markup, so the digest does not escape it again."""
    context = sample_context("reminder_action_due", "nb")
    context["action"] = {**context["action"], "description": "Bruk <i>mer</i> tid"}
    fragment = Templates("nb").fragment("reminder_action_due", context)
    assert isinstance(fragment.html, Markup)
    assert "Bruk &lt;i&gt;mer&lt;/i&gt; tid" in fragment.html
    assert "Bruk <i>mer</i> tid" in fragment.text


# ---- overrides ----------------------------------------------------------------------------


def test_override_in_maler_wins(maler: Path) -> None:
    """Verify a file in maler/ replaces the shipped one for every language; the others stay standard."""
    (maler / "invitation.subject.txt").write_text("Samtale med {{ employee.first_name }}\n", encoding="utf-8")
    for lang in LANGUAGES:
        rendered = Templates(lang, maler).render("invitation", sample_context("invitation", lang))
        assert rendered.subject == "Samtale med Kari"
        assert "Kari" in rendered.text


def test_language_override_wins_over_maler(maler: Path) -> None:
    """Verify maler/<lang>/ wins over maler/, and only for that language."""
    (maler / "nb").mkdir()
    (maler / "invitation.subject.txt").write_text("Felles", encoding="utf-8")
    (maler / "nb" / "invitation.subject.txt").write_text("Bokmål {{ round }}", encoding="utf-8")
    assert Templates("nb", maler).render("invitation", sample_context("invitation", "nb")).subject == "Bokmål 2027"
    assert Templates("en", maler).render("invitation", sample_context("invitation", "en")).subject == "Felles"


def test_override_fragment_reaches_the_digest(maler: Path) -> None:
    """Verify a company can reword one reminder."""
    (maler / "nb").mkdir()
    (maler / "nb" / "reminder_sign.txt").write_text("Signer referatet til {{ employee.name }}.", encoding="utf-8")
    fragment = Templates("nb", maler).fragment("reminder_sign", sample_context("reminder_sign", "nb"))
    assert fragment.text == "Signer referatet til Kari Nordvik."
    assert "ferdigstill" in fragment.html  # the HTML file is still the shipped one


def test_override_with_bom_and_crlf(maler: Path) -> None:
    """Verify a file saved by Notepad (UTF-8 with BOM, CRLF) works and leaves no BOM in the subject."""
    (maler / "invitation.subject.txt").write_bytes("\ufeffSamtale – {{ employee.name }}\r\n".encode())
    subject = Templates("nb", maler).render("invitation", sample_context("invitation", "nb")).subject
    assert subject == "Samtale – Kari Nordvik"


@pytest.mark.usefixtures("nb_messages")
def test_syntax_error_in_override_names_file_and_line(maler: Path) -> None:
    """Verify a syntax error in an override is a ConfigError naming the file and line, in Norwegian."""
    (maler / "nb").mkdir()
    (maler / "nb" / "invitation.txt").write_text("Hei\n\n{% if place %}\nSted\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))
    message = caught.value.message
    assert "maler/nb/invitation.txt" in message and "linje" in message
    assert "slett filen" in caught.value.hint


@pytest.mark.usefixtures("nb_messages")
def test_unknown_variable_in_override_is_named(maler: Path) -> None:
    """Verify an unknown variable is a ConfigError naming the variable, file and line, and listing what exists."""
    (maler / "invitation.txt").write_text("Hei {{ employee.first_name }}\n\nSted: {{ rom }}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))
    assert "«rom»" in caught.value.message
    assert "maler/invitation.txt, linje 3" in caught.value.message
    assert "place" in caught.value.hint and "prep_deadline" in caught.value.hint


@pytest.mark.usefixtures("nb_messages")
def test_unknown_attribute_in_override_is_named(maler: Path) -> None:
    """Verify a misspelt attribute (employee.fornavn) is named too."""
    (maler / "invitation.subject.txt").write_text("{{ employee.fornavn }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="«fornavn»"):
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))


@pytest.mark.usefixtures("nb_messages")
def test_missing_included_file_in_override(maler: Path) -> None:
    """Verify an override that includes a file that does not exist names both."""
    (maler / "cancellation.txt").write_text('{% include "bunntekst.txt" %}', encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        Templates("nb", maler).render("cancellation", sample_context("cancellation", "nb"))
    assert "maler/cancellation.txt" in caught.value.message and "bunntekst.txt" in caught.value.message


@pytest.mark.usefixtures("nb_messages")
def test_override_may_include_its_own_file(maler: Path) -> None:
    """Verify an override can include a shared file of its own from maler/."""
    (maler / "bunntekst.txt").write_text("Hilsen HR i {{ company }}", encoding="utf-8")
    (maler / "cancellation.txt").write_text('Avlyst.\n\n{% include "bunntekst.txt" %}', encoding="utf-8")
    text = Templates("nb", maler).render("cancellation", sample_context("cancellation", "nb")).text
    assert text == "Avlyst.\n\nHilsen HR i Fjordlys Regnskap AS\n"


@pytest.mark.usefixtures("nb_messages")
def test_override_not_utf8(maler: Path) -> None:
    """Verify a file saved as ANSI (cp1252) is a ConfigError that says how to save it."""
    (maler / "invitation.subject.txt").write_bytes("Medarbeidersamtale – Kjære {{ employee.name }}".encode("cp1252"))
    with pytest.raises(ConfigError) as caught:
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))
    assert "maler/invitation.subject.txt" in caught.value.message and "UTF-8" in caught.value.message


@pytest.mark.usefixtures("nb_messages")
def test_override_runs_in_a_sandbox(maler: Path) -> None:
    """Verify an override cannot reach Python internals (maler/ often sits on a shared folder)."""
    (maler / "invitation.subject.txt").write_text("{{ employee.__class__.__init__.__globals__ }}", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"maler/invitation\.subject\.txt, linje 1"):
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))


@pytest.mark.usefixtures("nb_messages")
def test_wrong_filter_use_in_override(maler: Path) -> None:
    """Verify a filter used on the wrong kind of value is a ConfigError, not a traceback."""
    (maler / "invitation.subject.txt").write_text("{{ prep_deadline|clock }}", encoding="utf-8")
    with pytest.raises(ConfigError, match="clock"):
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))


@pytest.mark.usefixtures("nb_messages")
def test_empty_subject_is_an_error(maler: Path) -> None:
    """Verify an override that renders an empty subject is refused."""
    (maler / "invitation.subject.txt").write_text("{# ingen #}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="tomt"):
        Templates("nb", maler).render("invitation", sample_context("invitation", "nb"))


def test_missing_context_for_a_shipped_template_is_a_bug() -> None:
    """Verify a caller that forgets a variable gets jinja's error: that is a bug in the code, not HR's to fix."""
    context = sample_context("invitation", "nb")
    del context["prep_deadline"]
    with pytest.raises(jinja2.UndefinedError):
        Templates("nb").render("invitation", context)


def test_unknown_language() -> None:
    """Verify an unknown language is a ConfigError."""
    with pytest.raises(ConfigError):
        Templates("sv")


# ---- listing and showing ------------------------------------------------------------------


def test_list_templates_reports_overrides(maler: Path) -> None:
    """Verify the listing has every template with a description and the files maler/ overrides."""
    (maler / "en").mkdir()
    (maler / "digest.subject.txt").write_text("x", encoding="utf-8")
    (maler / "en" / "digest.html").write_text("x", encoding="utf-8")
    infos = {info.name: info for info in list_templates(maler)}
    assert list(infos) == list(TEMPLATE_NAMES)
    assert all(info.description for info in infos.values())
    assert infos["digest"].overridden == ("maler/digest.subject.txt", "maler/en/digest.html")
    assert infos["invitation"].overridden == ()
    assert infos["reminder_sign"].kind == "reminder" and infos["digest"].kind == "mail"
    assert all(info.overridden == () for info in list_templates(None))


def test_stray_overrides_catch_misspelt_names(maler: Path) -> None:
    """Verify a file in maler/ that overrides nothing is reported."""
    (maler / "nb").mkdir()
    (maler / "invitasjon.txt").write_text("x", encoding="utf-8")
    (maler / "nb" / "invitation.txt").write_text("x", encoding="utf-8")
    assert stray_overrides(maler) == ["maler/invitasjon.txt"]
    assert stray_overrides(None) == []


def test_template_files_show_origin(maler: Path) -> None:
    """Verify `templates show` gets each file's source and where it comes from."""
    (maler / "nb").mkdir()
    (maler / "nb" / "invitation.txt").write_text("Egen tekst", encoding="utf-8")
    files = template_files("invitation", "nb", maler)
    assert [(file_name, origin) for file_name, origin, _ in files] == [
        ("invitation.subject.txt", STANDARD), ("invitation.txt", "maler/nb/invitation.txt"),
        ("invitation.html", STANDARD)]
    assert files[1][2] == "Egen tekst"
    assert "{{ employee.name }}" in files[0][2]
    with pytest.raises(UsageError):
        template_files("invitasjon", "nb", maler)


# ---- date and time filters ----------------------------------------------------------------


@pytest.mark.parametrize(("value", "nb", "en"), [
    (date(2027, 1, 11), "mandag 11. januar 2027", "Monday 11 January 2027"),
    (date(2027, 5, 17), "mandag 17. mai 2027", "Monday 17 May 2027"),
    (date(2026, 12, 24), "torsdag 24. desember 2026", "Thursday 24 December 2026"),
    (date(2027, 3, 7), "søndag 7. mars 2027", "Sunday 7 March 2027"),
    (date(2027, 10, 2), "lørdag 2. oktober 2027", "Saturday 2 October 2027"),
])
def test_long_date(value: date, nb: str, en: str) -> None:
    """Verify long dates with Norwegian and English day and month names, whatever the process locale."""
    assert format_long_date(value, "nb") == nb
    assert format_long_date(value, "en") == en


def test_short_date() -> None:
    """Verify short dates: dd.mm.åååå in Norwegian, «11 Jan 2027» in English."""
    assert format_short_date(date(2027, 1, 11), "nb") == "11.01.2027"
    assert format_short_date(date(2027, 5, 3), "en") == "3 May 2027"
    assert format_short_date(date(2026, 12, 24), "en") == "24 Dec 2026"
    assert format_short_date(None, "nb") == ""


def test_clock_is_oslo_time_across_daylight_saving() -> None:
    """Verify clock shows Oslo wall time: UTC+1 in winter, UTC+2 in summer; «.» in Norwegian, «:» in English."""
    summer = datetime(2027, 6, 15, 7, 0, tzinfo=UTC)
    winter = datetime(2027, 1, 15, 8, 5, tzinfo=UTC)
    assert format_clock(summer, "nb") == "09.00" and format_clock(summer, "en") == "09:00"
    assert format_clock(winter, "nb") == "09.05" and format_clock(winter, "en") == "09:05"
    assert format_clock(datetime(2027, 6, 15, 9, 0, tzinfo=OSLO), "nb") == "09.00"


def test_long_date_of_a_datetime_uses_the_oslo_day() -> None:
    """Verify a datetime just before midnight UTC is already the next day in Oslo."""
    late = datetime(2027, 5, 16, 22, 30, tzinfo=UTC)
    assert format_long_date(late, "nb") == "mandag 17. mai 2027"
    assert format_short_date(late, "nb") == "17.05.2027"


def test_filters_in_a_template_follow_the_language(maler: Path) -> None:
    """Verify the filters a template sees are the ones of its language, DST included."""
    (maler / "invitation.subject.txt").write_text("{{ start|long_date }} {{ start|clock }} {{ start|short_date }}",
                                                  encoding="utf-8")
    context = sample_context("invitation", "nb")
    context["start"] = datetime(2027, 8, 2, 6, 30, tzinfo=UTC)
    nb = Templates("nb", maler).render("invitation", context).subject
    en = Templates("en", maler).render("invitation", {**context, "lang": "en"}).subject
    assert nb == "mandag 2. august 2027 08.30 02.08.2027"
    assert en == "Monday 2 August 2027 08:30 2 Aug 2027"


def test_action_status_in_english() -> None:
    """Verify the Norwegian action statuses read in English, and unknown values pass through."""
    assert format_action_status("Pågår", "en") == "In progress"
    assert format_action_status("Ikke startet", "en") == "Not started"
    assert format_action_status("Pågår", "nb") == "Pågår"
    assert format_action_status("Venter", "en") == "Venter"
