"""Click's own words (help headings, usage errors) in bokmål, so `samtale -h` and a typo read Norwegian.

Click looks its texts up through gettext (`_` and `ngettext` in each of its modules); `install()`
puts a lookup in their place that answers from the table below while the message language is
bokmål (texts.language()) and gives click's English otherwise (`--lang en`). A text missing from
the table stays English rather than failing: click may add texts in a later version.
"""

from __future__ import annotations

import importlib

import click

from samtale_automation.texts import language, tr

#: click's English text → bokmål (the placeholders stay as click fills them).
NB: dict[str, str] = {
    "Usage:": "Bruk:",
    "Options": "Valg",
    "Commands": "Kommandoer",
    "Show this message and exit.": "Vis denne hjelpen og avslutt.",
    "Show the version and exit.": "Vis versjonen og avslutt.",
    "%(prog)s, version %(version)s": "%(prog)s, versjon %(version)s",
    "Error: {message}": "Feil: {message}",
    "Try '{command} {option}' for help.": "Skriv «{command} {option}» for hjelp.",
    "No such command {name!r}.": "Kommandoen {name!r} finnes ikke.",
    "No such option {name!r}.": "Valget {name!r} finnes ikke.",
    "No such option: {name}": "Valget finnes ikke: {name}",
    "Missing argument": "Mangler argument",
    "Missing argument {param_hint}.": "Mangler argumentet {param_hint}.",
    "Missing command.": "Mangler kommando.",
    "Missing option": "Mangler valg",
    "Missing parameter": "Mangler verdi",
    "Missing parameter: {param_name}": "Mangler verdi: {param_name}",
    "Missing {param_type}": "Mangler {param_type}",
    "Invalid value for {param_hint}: {message}": "Ugyldig verdi for {param_hint}: {message}",
    "Invalid value: {message}": "Ugyldig verdi: {message}",
    "Option {name!r} does not take a value.": "Valget {name!r} tar ingen verdi.",
    "Aborted!": "Avbrutt.",
    "Do you want to continue?": "Vil du fortsette?",
    "Error: invalid input": "Feil: ugyldig svar",
    "Repeat for confirmation": "Gjenta for å bekrefte",
    "Error: The two entered values do not match.": "Feil: de to verdiene er ikke like.",
    "Confirm the action without prompting.": "Bekreft uten å spørre.",
    "Choose from:\n\t{choices}": "Velg blant:\n\t{choices}",
    "default: {default}": "standard: {default}",
    "env var: {var}": "miljøvariabel: {var}",
    "deprecated": "utgått",
    "directory": "mappe",
    "file": "fil",
    "path": "sti",
    "{name} {filename!r} does not exist.": "{name} {filename!r} finnes ikke.",
    "{name} {filename!r} is a directory.": "{name} {filename!r} er en mappe.",
    "{name} {filename!r} is a file.": "{name} {filename!r} er en fil.",
    "{name} {filename!r} is not readable.": "{name} {filename!r} kan ikke leses.",
    "{name} {filename!r} is not writable.": "{name} {filename!r} kan ikke skrives.",
    "Could not open file {filename!r}: {message}": "Kunne ikke åpne filen {filename!r}: {message}",
    "{value!r} is not a valid {number_type}.": "{value!r} er ikke et gyldig {number_type}.",
    "{value} is not in the range {range}.": "{value} er utenfor området {range}.",
}

#: click's singular/plural pairs → bokmål singular/plural.
NB_PLURAL: dict[str, tuple[str, str]] = {
    "Got unexpected extra argument ({args})": ("Uventet ekstra argument ({args})",
                                               "Uventede ekstra argumenter ({args})"),
    "Did you mean {possibility}?": ("Mente du {possibility}?", "(Mente du en av: {possibilities}?)"),
    "Option {name!r} requires an argument.": ("Valget {name!r} trenger en verdi.",
                                              "Valget {name!r} trenger {nargs} verdier."),
    "{value!r} is not {choice}.": ("{value!r} er ikke {choice}.", "{value!r} er ikke en av {choices}."),
    "{value!r} does not match the format {format}.": ("{value!r} har ikke formatet {format}.",
                                                      "{value!r} har ingen av formatene {formats}."),
}

_MODULES = ("core", "decorators", "exceptions", "formatting", "parser", "termui", "types", "utils", "shell_completion")


def gettext(message: str) -> str:
    """Click's text in bokmål when messages are bokmål; else click's own."""
    return NB.get(message, message) if language() == "nb" else message


def ngettext(singular: str, plural: str, n: int) -> str:
    """Click's singular or plural text, in bokmål when messages are bokmål."""
    if language() == "nb" and singular in NB_PLURAL:
        one, many = NB_PLURAL[singular]
        return one if n == 1 else many
    return singular if n == 1 else plural


def install() -> None:
    """Put the bokmål lookups in click's modules (idempotent; a module without them is left alone)."""
    for name in _MODULES:
        try:
            module = importlib.import_module(f"click.{name}")
        except ImportError:
            continue
        if hasattr(module, "_"):
            module._ = gettext  # type: ignore[attr-defined]
        if hasattr(module, "ngettext"):
            module.ngettext = ngettext  # type: ignore[attr-defined]


def localise(group: click.Group) -> None:
    """The usage lines' words and the help texts in the message language (call again after --lang)."""
    metavars(group)
    localise_help(group)


def metavars(group: click.Group) -> None:
    """«[VALG]» and «KOMMANDO» in the usage lines in bokmål, click's «[OPTIONS]» with --lang en."""
    group.subcommand_metavar = tr("KOMMANDO [ARGUMENTER]...", "COMMAND [ARGS]...")
    for command in [group, *group.commands.values()]:
        command.options_metavar = tr("[VALG]", "[OPTIONS]")
        if isinstance(command, click.Group) and command is not group:
            metavars(command)


def localise_help(group: click.Group) -> None:
    """Show one language in the help: «Vis hva som ville skjedd / only show what would happen» becomes the
    bokmål side, or the English side with --lang en. The two-sided text stays in the source (one place)."""
    for command in _commands(group):
        command.help = _side(_original(command, "help"))
        command.short_help = None
        for param in command.params:
            if isinstance(param, click.Option) and param.help:
                param.help = _side(_original(param, "help"))


def _commands(group: click.Group) -> list[click.Command]:
    found: list[click.Command] = [group]
    for command in group.commands.values():
        found += _commands(command) if isinstance(command, click.Group) else [command]
    return found


def _original(thing: object, name: str) -> str | None:
    """The two-sided text as written in the source, kept on first use so a later switch can pick again."""
    store = f"_samtale_{name}"
    if not hasattr(thing, store):
        setattr(thing, store, getattr(thing, name))
    value = getattr(thing, store)
    return value if isinstance(value, str) else None


def _side(text: str | None) -> str | None:
    """The bokmål or English side of «bokmål / English»; a text without « / » as it is."""
    if text is None or " / " not in text:
        return text
    first, _, rest = text.partition(" / ")
    # The first line may hold the split; later lines (a docstring's body) are kept as they are.
    head, newline, body = rest.partition("\n")
    chosen = head if language() == "en" else first
    chosen = chosen[:1].upper() + chosen[1:]
    if not chosen.rstrip().endswith((".", "?")):
        chosen = chosen.rstrip() + "."
    return chosen + (newline + body if body else "")
