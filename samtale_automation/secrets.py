"""Passwords and tokens for the mail backends, never from samtale.toml.

A secret named e.g. `smtp_password` comes from, in this order:

1. the environment variable `SAMTALE_SMTP_PASSWORD` (`SAMTALE_` + the name in capitals), handy for
   scheduled runs and CI;
2. the operating system's keyring (Windows Credential Manager, macOS Keychain, Secret Service),
   service «samtale», user = the name; store it once with `keyring set samtale smtp_password`.

An empty value counts as missing. A keyring that is absent or fails gives None, never a crash.
Secrets are returned to the caller only: this module never logs or prints them.
"""

from __future__ import annotations

import os

SERVICE = "samtale"


def env_name(name: str) -> str:
    """The environment variable that holds the secret `name` (smtp_password → SAMTALE_SMTP_PASSWORD)."""
    return f"SAMTALE_{name.upper()}"


def keyring_command(name: str) -> str:
    """The command that stores the secret `name` in the OS keyring."""
    return f"keyring set {SERVICE} {name}"


def get_secret(name: str) -> str | None:
    """The secret `name` from the environment, else the OS keyring; None when neither has it."""
    value = os.environ.get(env_name(name))
    if value:
        return value
    try:
        import keyring  # lazily: finding a keyring backend is slow on some systems

        stored = keyring.get_password(SERVICE, name)
    except Exception:  # any keyring failure (no backend, locked, D-Bus down) means «not found»
        return None
    return stored if isinstance(stored, str) and stored else None
