"""Click's own help and usage errors in bokmål (faces/click_nb.py), English with --lang en."""

from __future__ import annotations

import subprocess
import sys


def _samtale(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "samtale_automation", *args], capture_output=True, text=True,
                          timeout=120, check=False)


def test_an_unknown_command_is_said_in_bokmal_with_exit_2() -> None:
    """Verify a typo gives Norwegian usage, hint and error (no «Usage», «Error», «No such command»)."""
    result = _samtale("nosuch")
    assert result.returncode == 2
    assert result.stderr.splitlines() == ["Bruk: samtale [VALG] KOMMANDO [ARGUMENTER]...",
                                          "Skriv «samtale --help» for hjelp.", "",
                                          "Feil: Kommandoen 'nosuch' finnes ikke."]


def test_an_unknown_option_and_a_bad_choice_in_bokmal() -> None:
    """Verify option errors name the option in Norwegian."""
    assert "Feil: Valget '--bad' finnes ikke." in _samtale("invite", "--bad").stderr
    bad = _samtale("--lang", "de", "check").stderr
    assert "Ugyldig verdi for '--lang': 'de' er ikke en av 'nb', 'en'." in bad


def test_help_headings_in_bokmal() -> None:
    """Verify -h shows «Bruk», «Valg», «Kommandoer» and no English heading."""
    shown = _samtale("-h").stdout
    assert shown.startswith("Bruk: samtale [VALG] KOMMANDO [ARGUMENTER]...")
    assert "\nValg:\n" in shown and "\nKommandoer:\n" in shown
    assert "Vis denne hjelpen og avslutt." in shown
    for english in ("Usage", "Options:", "Commands:", "Show this message", "[OPTIONS]"):
        assert english not in shown


def test_lang_en_gives_clicks_english() -> None:
    """Verify --lang en, read before the command, gives click's English words."""
    result = _samtale("--lang", "en", "nosuch")
    assert result.returncode == 2
    assert "Usage: samtale [OPTIONS] COMMAND [ARGS]..." in result.stderr
    assert "Error: No such command 'nosuch'." in result.stderr


def test_the_version_line_in_bokmal() -> None:
    """Verify --version says «versjon»."""
    assert ", versjon " in _samtale("--version").stdout


def test_help_texts_show_one_language() -> None:
    """Verify the commands' and options' help show the bokmål side, and the English side with --lang en."""
    shown = _samtale("invite", "-h").stdout
    assert "Send invitasjoner, endringer og avlysninger." in shown
    assert "Vis hva som ville blitt sendt." in shown and "only show" not in shown
    english = _samtale("--lang", "en", "invite", "-h").stdout
    assert "Send the invitations, updates and cancellations." in english
    assert "Only show what would be sent." in english and "Vis hva" not in english
    listed = _samtale("-h").stdout
    assert "Finn alt som er feil, med cellen." in listed and "report every problem" not in listed
