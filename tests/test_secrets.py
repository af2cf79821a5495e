"""Secrets come from SAMTALE_<NAME>, else the OS keyring, and a broken keyring is only «not found»."""

from __future__ import annotations

import subprocess
import sys

import keyring
import pytest
from keyring.errors import KeyringLocked, NoKeyringError
from smtp_server import MemoryKeyring, memory_keyring  # noqa: F401

from samtale_automation.secrets import env_name, get_secret, keyring_command


@pytest.fixture(autouse=True)
def no_secret_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAMTALE_SMTP_PASSWORD", raising=False)
    monkeypatch.delenv("SAMTALE_SMTP_OAUTH_TOKEN", raising=False)


class BrokenKeyring(MemoryKeyring):
    """A keyring whose every lookup fails, as a locked or unreachable one does."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_password(self, service: str, username: str) -> str | None:
        raise self.error


def test_names() -> None:
    assert env_name("smtp_password") == "SAMTALE_SMTP_PASSWORD"
    assert env_name("smtp_oauth_token") == "SAMTALE_SMTP_OAUTH_TOKEN"
    assert keyring_command("smtp_password") == "keyring set samtale smtp_password"


def test_from_the_environment(monkeypatch: pytest.MonkeyPatch, memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", "fra-miljøet")
    assert get_secret("smtp_password") == "fra-miljøet"
    assert get_secret("smtp_oauth_token") is None


def test_from_the_keyring_under_service_samtale(memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    memory_keyring.set_password("samtale", "smtp_password", "fra-nøkkelringen")
    memory_keyring.set_password("annet", "smtp_oauth_token", "feil-tjeneste")
    assert get_secret("smtp_password") == "fra-nøkkelringen"
    assert get_secret("smtp_oauth_token") is None


def test_the_environment_wins_over_the_keyring(monkeypatch: pytest.MonkeyPatch,
                                               memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    memory_keyring.set_password("samtale", "smtp_password", "fra-nøkkelringen")
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", "fra-miljøet")
    assert get_secret("smtp_password") == "fra-miljøet"


def test_an_empty_value_counts_as_missing(monkeypatch: pytest.MonkeyPatch,
                                          memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", "")
    assert get_secret("smtp_password") is None
    memory_keyring.set_password("samtale", "smtp_password", "fra-nøkkelringen")
    assert get_secret("smtp_password") == "fra-nøkkelringen"  # an empty variable does not hide the keyring
    memory_keyring.set_password("samtale", "smtp_password", "")
    assert get_secret("smtp_password") is None


@pytest.mark.parametrize("error", [NoKeyringError("no backend"), KeyringLocked("locked"),
                                   RuntimeError("D-Bus not running"), OSError("no secret service")],
                         ids=lambda e: type(e).__name__)
def test_a_failing_keyring_means_not_found(error: Exception, memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    keyring.set_keyring(BrokenKeyring(error))  # restored by the memory_keyring fixture
    assert get_secret("smtp_password") is None


def test_keyring_is_imported_only_when_asked() -> None:
    code = ("import sys, samtale_automation.secrets as s; assert 'keyring' not in sys.modules; "
            "import os; os.environ['SAMTALE_X'] = 'y'; assert s.get_secret('x') == 'y'; "
            "assert 'keyring' not in sys.modules")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr


def test_no_secret_is_printed(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
                              caplog: pytest.LogCaptureFixture, memory_keyring: MemoryKeyring) -> None:  # noqa: F811
    monkeypatch.setenv("SAMTALE_SMTP_PASSWORD", "hemmelig-1")
    memory_keyring.set_password("samtale", "smtp_oauth_token", "hemmelig-2")
    assert get_secret("smtp_password") == "hemmelig-1" and get_secret("smtp_oauth_token") == "hemmelig-2"
    out, err = capsys.readouterr()
    assert "hemmelig" not in out + err + caplog.text
