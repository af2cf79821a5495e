"""E-mail templates (DESIGN.md §7–8, §11): jinja2 files per language that a company can override.

Each mail template is three files, `<name>.subject.txt`, `<name>.txt` and `<name>.html`; each
reminder fragment (an item in the daily digest) is `<name>.txt` and `<name>.html`. A file with
the same name in `maler/<lang>/` or `maler/` (next to the workbook) wins over the shipped one.
Templates fail on an unknown variable, HTML is autoescaped, and they run in jinja2's sandbox with
bounded work (mail/bounded.py), because `maler/` often lives on a shared folder. A broken override
becomes a `ConfigError` that names the file and line; the shipped templates are tested with
`mail.samples.sample_context`.
"""

from __future__ import annotations

import re
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from samtale_automation.errors import ConfigError, UsageError
from samtale_automation.mail.bounded import BoundedSandbox, RenderLimitError
from samtale_automation.mail.filters import format_action_status, format_clock, format_long_date, format_short_date
from samtale_automation.paths import TEMPLATE_OVERRIDE_DIR, data_dir
from samtale_automation.texts import lang_code, language, tr

LANGUAGES = ("nb", "en")

#: Templates that make a whole message (subject, text, HTML).
MAIL_TEMPLATES = ("invitation", "update", "cancellation", "manager_prep", "follow_up", "follow_up_cancellation",
                  "digest")
#: Kinds of reminder; each has a fragment `reminder_<kind>` that becomes one item of the digest.
REMINDER_KINDS = ("prep_employee", "prep_manager", "not_prepared", "minutes", "minutes_overdue", "sign",
                  "countersign", "signed", "action_due", "action_overdue", "reflection")
FRAGMENTS = tuple(f"reminder_{kind}" for kind in REMINDER_KINDS)
TEMPLATE_NAMES = MAIL_TEMPLATES + FRAGMENTS

MAIL_PARTS = ("subject.txt", "txt", "html")
FRAGMENT_PARTS = ("txt", "html")
STANDARD = "standard"

_DESCRIPTIONS: dict[str, tuple[str, str]] = {
    "invitation": ("Innkalling til medarbeidersamtalen (møteinvitasjon til medarbeider og leder, med skjemaet)",
                   "Invitation to the conversation (meeting request to employee and manager, with the prep file)"),
    "update": ("Oppdatert innkalling når tid eller sted er endret (samme emne som innkallingen)",
               "Updated invitation when the time or place has changed (same subject as the invitation)"),
    "cancellation": ("Avlysning av medarbeidersamtalen", "Cancellation of the conversation"),
    "manager_prep": ("E-post til lederen med lederens egen versjon av forberedelsesskjemaet",
                     "Mail to the manager with the manager's own version of the prep file"),
    "follow_up": ("Møteinvitasjon til et kort oppfølgingsmøte om et avtalt tiltak",
                  "Meeting request for a short follow-up meeting on an agreed action"),
    "follow_up_cancellation": ("Avlysning av et oppfølgingsmøte", "Cancellation of a follow-up meeting"),
    "digest": ("Daglig påminnelse til én person med alt som venter (påminnelsene under)",
               "Daily reminder to one person with everything waiting (the reminders below)"),
    "reminder_prep_employee": ("Påminnelse til medarbeideren: velg spørsmål og send skjemaet tilbake",
                               "Reminder to the employee: choose questions and return the file"),
    "reminder_prep_manager": ("Påminnelse til lederen: forbered ditt syn på samtalen",
                              "Reminder to the manager: prepare your view of the conversation"),
    "reminder_not_prepared": ("Til lederen før samtalen: forberedelsene mangler, vurder å flytte samtalen",
                              "To the manager before the conversation: preparation missing, consider moving it"),
    "reminder_minutes": ("Til medarbeideren: skriv referatet og send det tilbake",
                         "To the employee: write the minutes and return them"),
    "reminder_minutes_overdue": ("Til medarbeideren: fristen for referatet er passert",
                                 "To the employee: the deadline for the minutes has passed"),
    "reminder_sign": ("Til lederen: referatet er kommet, ferdigstill og signer",
                      "To the manager: the minutes are back, finalise and sign"),
    "reminder_countersign": ("Til medarbeideren: lederens endelige referat, kontrasigner",
                             "To the employee: the manager's final minutes, countersign"),
    "reminder_signed": ("Til begge: referatet er signert av begge, med PDF-en",
                        "To both: the minutes are signed by both, with the PDF"),
    "reminder_action_due": ("Til den ansvarlige: fristen for et tiltak nærmer seg",
                            "To the owner: an action's deadline is near"),
    "reminder_action_overdue": ("Til den ansvarlige og lederen: fristen for et tiltak er passert",
                                "To the owner and the manager: an action's deadline has passed"),
    "reminder_reflection": ("Til lederen: referatene fra alle samtalene i runden er kommet, hvordan gikk det?",
                            "To the manager: the minutes of all conversations in the round are back, how did it go?"),
}

_UNDEFINED = re.compile(r"'([^']+)' is undefined|has no attribute '([^']+)'")


# ---- results ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Rendered:
    """A rendered mail: a one-line subject, the plain text and the HTML body."""

    subject: str
    text: str
    html: str


@dataclass(frozen=True)
class Fragment:
    """A rendered reminder: one item of the digest, as text and as HTML."""

    text: str
    html: Markup


@dataclass(frozen=True)
class DigestItem:
    """One item of the digest mail (`items` in the digest's context)."""

    kind: str
    text: str
    html: Markup


@dataclass(frozen=True)
class TemplateInfo:
    """A template for `samtale templates`: what it is for and which of its files `maler/` overrides."""

    name: str
    kind: str  # "mail" or "reminder"
    description: str
    files: tuple[str, ...]
    overridden: tuple[str, ...]  # e.g. «maler/nb/invitation.txt»


# ---- files --------------------------------------------------------------------------------


def standard_dir(lang: str) -> Path:
    """The shipped templates of one language."""
    return data_dir("email_templates") / lang_code(lang)


def template_kind(name: str) -> str:
    """«mail» for a whole message, «reminder» for a digest item."""
    return "reminder" if name in FRAGMENTS else "mail"


def file_names(name: str) -> tuple[str, ...]:
    """The files that make up a template, e.g. `invitation.subject.txt`, `invitation.txt`, `invitation.html`."""
    parts = FRAGMENT_PARTS if template_kind(name) == "reminder" else MAIL_PARTS
    return tuple(f"{name}.{part}" for part in parts)


def description(name: str, lang: str | None = None) -> str:
    """The one-line description of a template, in `lang` or the message language."""
    nb, en = _DESCRIPTIONS.get(name, ("Egen mal", "Own template"))
    return en if lang_code(lang or language()) == "en" else nb


def _override_candidates(file_name: str, lang: str, override_dir: Path) -> list[Path]:
    """Where an override of `file_name` may live, the winning place first."""
    return [override_dir / lang_code(lang) / file_name, override_dir / file_name]


def _display(path: Path, override_dir: Path | None) -> str:
    """A path as HR sees it: «maler/nb/invitation.txt», or the path itself outside `maler/`."""
    if override_dir is not None:
        try:
            relative = path.resolve().relative_to(override_dir.resolve())
        except ValueError:
            pass
        else:
            return "/".join((override_dir.name or TEMPLATE_OVERRIDE_DIR, *relative.parts))
    return str(path)


def list_templates(override_dir: Path | None) -> list[TemplateInfo]:
    """Every known template with its description and the files `maler/` overrides (any language)."""
    result = []
    for name in TEMPLATE_NAMES:
        overridden: list[str] = []
        if override_dir is not None:
            for file_name in file_names(name):
                places = [override_dir / lang / file_name for lang in LANGUAGES] + [override_dir / file_name]
                overridden += [_display(place, override_dir) for place in places if place.is_file()]
        result.append(TemplateInfo(name, template_kind(name), description(name), file_names(name),
                                   tuple(overridden)))
    return result


def stray_overrides(override_dir: Path | None) -> list[str]:
    """Files in `maler/` (or `maler/<lang>/`) that override nothing, e.g. a misspelt name."""
    if override_dir is None or not override_dir.is_dir():
        return []
    known = {file_name for name in TEMPLATE_NAMES for file_name in file_names(name)}
    folders = [override_dir] + [override_dir / lang for lang in LANGUAGES]
    return sorted(_display(path, override_dir) for folder in folders if folder.is_dir()
                  for path in folder.iterdir()
                  if path.is_file() and not path.name.startswith(".") and path.name not in known)


def template_files(name: str, lang: str, override_dir: Path | None) -> list[tuple[str, str, str]]:
    """The files `render` would use for a template: (file name, «standard» or «maler/…», source text)."""
    if name not in TEMPLATE_NAMES or lang not in LANGUAGES:
        raise UsageError(
            tr(f"Ukjent mal «{name}» eller språk «{lang}».", f"Unknown template «{name}» or language «{lang}»."),
            hint=tr("Malene er: ", "The templates are: ") + ", ".join(TEMPLATE_NAMES)
            + tr("; språkene: ", "; the languages: ") + ", ".join(LANGUAGES) + ".")
    result = []
    for file_name in file_names(name):
        places = _override_candidates(file_name, lang, override_dir) if override_dir is not None else []
        chosen = next((place for place in places if place.is_file()), None)
        path = chosen or standard_dir(lang) / file_name
        origin = _display(path, override_dir) if chosen else STANDARD
        result.append((file_name, origin, path.read_text(encoding="utf-8-sig")))
    return result


# ---- rendering ----------------------------------------------------------------------------


class _NotUtf8(jinja2.TemplateError):
    """A template file that is not UTF-8 (Notepad's old «ANSI»)."""

    def __init__(self, path: Path) -> None:
        super().__init__(str(path))
        self.path = path


class _Loader(jinja2.FileSystemLoader):
    """A file loader that reports a file in the wrong encoding by its path."""

    def get_source(self, environment: jinja2.Environment, template: str) -> tuple[str, str, Any]:
        """Load the file, turning a decoding error into `_NotUtf8`."""
        try:
            return super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            found = [Path(root) / template for root in self.searchpath if (Path(root) / template).is_file()]
            raise _NotUtf8(found[0] if found else Path(template)) from exc


def _environment(lang: str, override_dir: Path | None) -> jinja2.Environment:
    """The sandboxed, strict environment of one language with `maler/` first."""
    roots = [override_dir / lang, override_dir] if override_dir is not None else []
    loaders: list[jinja2.BaseLoader] = [_Loader(root, encoding="utf-8-sig") for root in roots]
    loaders.append(_Loader(standard_dir(lang), encoding="utf-8-sig"))
    env = BoundedSandbox(
        loader=jinja2.ChoiceLoader(loaders),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False,
                                            default=False),
        trim_blocks=True,
        lstrip_blocks=True,
    )

    # Named functions, so a wrong call in an override reads «clock() takes 1 positional argument …».
    def long_date(value: date | None) -> str:
        """The «long_date» filter."""
        return format_long_date(value, lang)

    def short_date(value: date | None) -> str:
        """The «short_date» filter."""
        return format_short_date(value, lang)

    def clock(value: datetime | None) -> str:
        """The «clock» filter."""
        return format_clock(value, lang)

    def status(value: str | None) -> str:
        """The «status» filter (an action's status)."""
        return format_action_status(value, lang)

    for function in (long_date, short_date, clock, status):
        function.__qualname__ = function.__name__
    env.filters.update(long_date=long_date, short_date=short_date, clock=clock, status=status)
    return env


def _tidy_text(text: str) -> str:
    """Drop trailing spaces and runs of blank lines that conditional blocks leave behind."""
    lines = "\n".join(line.rstrip() for line in text.splitlines()).strip()
    return re.sub(r"\n{3,}", "\n\n", lines)


class Templates:
    """The templates of one language, with a company's overrides from `maler/`."""

    def __init__(self, lang: str, override_dir: Path | None = None) -> None:
        if lang not in LANGUAGES:
            raise ConfigError(tr(f"E-postmalene finnes ikke på språket «{lang}».",
                                 f"There are no e-mail templates in the language «{lang}»."),
                              hint=tr("Bruk nb eller en.", "Use nb or en."))
        self.lang = lang
        self.override_dir = override_dir
        self._env = _environment(lang, override_dir)

    def render(self, name: str, context: Mapping[str, Any]) -> Rendered:
        """Render a mail template: subject (one line), plain text and HTML."""
        values = {"lang": self.lang, **context}
        subject = " ".join(self._render_file(name, f"{name}.subject.txt", values).split())
        if not subject:
            raise ConfigError(
                tr(f"Emnet i e-postmalen {name} ble tomt.", f"The subject of the template {name} is empty."),
                hint=tr(f"Skriv et emne i {name}.subject.txt.", f"Write a subject in {name}.subject.txt."))
        text = _tidy_text(self._render_file(name, f"{name}.txt", values)) + "\n"
        html = self._render_file(name, f"{name}.html", values).strip() + "\n"
        return Rendered(subject, text, html)

    def fragment(self, name: str, context: Mapping[str, Any]) -> Fragment:
        """Render a reminder fragment (one item of the digest) as text and HTML."""
        values = {"lang": self.lang, **context}
        text = _tidy_text(self._render_file(name, f"{name}.txt", values))
        html = Markup(self._render_file(name, f"{name}.html", values).strip())  # the output is autoescaped
        return Fragment(text, html)

    # -- errors --

    def _render_file(self, name: str, file_name: str, values: dict[str, Any]) -> str:
        """Render one file; a fault in an override becomes a ConfigError naming file and line."""
        try:
            return self._env.get_template(file_name).render(values)
        except Exception as exc:
            error = self._error(exc, name, values)
            if error is exc:
                raise
            raise error from None

    def _is_override(self, path: Path) -> bool:
        """Whether a template file lies in `maler/`."""
        if self.override_dir is None:
            return False
        try:
            path.resolve().relative_to(self.override_dir.resolve())
        except ValueError:
            return False
        return True

    def _locate(self, exc: BaseException) -> tuple[Path, int | None] | None:
        """The template file and line where the error happened, if it happened in one."""
        if isinstance(exc, _NotUtf8):
            return exc.path, None
        if isinstance(exc, RenderLimitError) and exc.filename:
            return Path(exc.filename), None
        if isinstance(exc, jinja2.TemplateSyntaxError) and exc.filename:
            return Path(exc.filename), exc.lineno
        frames = [frame for frame in traceback.extract_tb(exc.__traceback__)
                  if frame.filename.endswith((".txt", ".html", ".htm")) and Path(frame.filename).is_file()]
        return (Path(frames[-1].filename), frames[-1].lineno) if frames else None

    def _error(self, exc: Exception, name: str, values: Mapping[str, Any]) -> Exception:
        """Turn a rendering error into a ConfigError for HR; a fault in a shipped file stays as it is."""
        where = self._locate(exc)
        if where is None:
            if isinstance(exc, jinja2.TemplateNotFound):
                return ConfigError(
                    tr(f"Fant ikke e-postmalen {exc.name} ({self.lang}).",
                       f"The e-mail template {exc.name} ({self.lang}) was not found."),
                    hint=tr(f"Legg filen i {TEMPLATE_OVERRIDE_DIR}/ eller {TEMPLATE_OVERRIDE_DIR}/{self.lang}/, "
                            "eller sjekk navnet på malen.",
                            f"Put the file in {TEMPLATE_OVERRIDE_DIR}/ or {TEMPLATE_OVERRIDE_DIR}/{self.lang}/, "
                            "or check the template's name."))
            return exc
        path, line = where
        if not self._is_override(path):
            return exc
        shown = _display(path, self.override_dir)
        at = tr(f"{shown}, linje {line}", f"{shown}, line {line}") if line else shown
        restore = tr(f" Eller slett filen for å bruke standardteksten (se den med «samtale templates show {name}»).",
                     f" Or delete the file to use the standard text (see it with «samtale templates show {name}»).")
        if isinstance(exc, _NotUtf8):
            return ConfigError(tr(f"E-postmalen {shown} er ikke lagret som UTF-8.",
                                  f"The e-mail template {shown} is not saved as UTF-8."),
                               hint=tr("Åpne filen i Notisblokk og lagre den med koding UTF-8.",
                                       "Open the file in Notepad and save it with the encoding UTF-8.") + restore)
        if isinstance(exc, jinja2.UndefinedError):
            match = _UNDEFINED.search(exc.message or "")
            variable = (match.group(1) or match.group(2)) if match else str(exc)
            people = tr(" En person har name, first_name og email.", " A person has name, first_name and email.")
            return ConfigError(
                tr(f"Ukjent variabel «{variable}» i e-postmalen {at}.",
                   f"Unknown variable «{variable}» in the e-mail template {at}."),
                hint=tr(f"Malen {name} kan bruke: ", f"The template {name} can use: ") + ", ".join(sorted(values))
                + "." + (people if match and match.group(2) else "")
                + tr(" Rett navnet i filen.", " Correct the name in the file.") + restore)
        if isinstance(exc, jinja2.TemplateNotFound):
            return ConfigError(tr(f"E-postmalen {at} viser til filen «{exc.name}», som ikke finnes.",
                                  f"The e-mail template {at} refers to the file «{exc.name}», which does not exist."),
                               hint=tr("Legg filen i maler/ eller rett navnet.",
                                       "Put the file in maler/ or correct the name.") + restore)
        detail = (exc.message if isinstance(exc, jinja2.TemplateError) and exc.message else str(exc)).rstrip(".")
        if isinstance(exc, jinja2.TemplateSyntaxError):
            return ConfigError(tr(f"Skrivefeil i e-postmalen {at}: {detail}.",
                                  f"Syntax error in the e-mail template {at}: {detail}."),
                               hint=tr("Sjekk at hver {{ har en }} og hver {% if %} en {% endif %}.",
                                       "Check that every {{ has a }} and every {% if %} an {% endif %}.") + restore)
        return ConfigError(tr(f"Feil i e-postmalen {at}: {detail}.", f"Error in the e-mail template {at}: {detail}."),
                           hint=tr("Rett linjen i filen.", "Correct the line in the file.") + restore)
