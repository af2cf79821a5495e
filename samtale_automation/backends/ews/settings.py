"""The fixed values of Exchange Web Services the ews backend keeps to, and the errors for a missing
password or package. The `[ews]` settings themselves are read in samtale_automation/config/ews.py.
"""

from __future__ import annotations

from typing import TypeVar

from exchangelib import (
    BASIC,
    GSSAPI,
    NTLM,
    SSPI,
)

from samtale_automation.errors import ConfigError
from samtale_automation.secrets import env_name, keyring_command
from samtale_automation.texts import tr

TOML = "samtale.toml"
SECRET_NAME = "ews_password"
#: Our tag on every item we create: a named MAPI property, the same one Graph sees.
TAG_PROPERTY_SET = "c11ff724-aa03-4555-9952-8fa248a11c3e"
TAG_NAME = "samtale-id"
#: GetUserAvailability limits: mailboxes per request and days per time window.
FREE_BUSY_MAILBOXES = 100
FREE_BUSY_DAYS = 42
#: What Microsoft 365 answers when EWS is blocked for the tenant or the app.
BLOCKED_MARKERS = ("ews is blocked", "exchangewebservicesdisabled", "ews has been disabled", "ews is disabled",
                   "ewsenabled", "ews access is blocked", "blocked by policy")
AUTH_TYPES = {"ntlm": NTLM, "basic": BASIC, "kerberos": GSSAPI, "sspi": SSPI}
EXTRAS = {"kerberos": ("exchangelib[kerberos]", "requests_gssapi"), "sspi": ("exchangelib[sspi]",
                                                                           "requests_negotiate_sspi")}
#: Per-item errors worth trying again later (SMTP-style 450); any other per-item error is permanent (550).
TEMPORARY_ERRORS = frozenset({
    "ErrorServerBusy", "ErrorTimeoutExpired", "ErrorTooManyObjectsOpened", "ErrorInternalServerTransientError",
    "ErrorMailboxMoveInProgress", "ErrorMailboxStoreUnavailable", "ErrorConnectionFailed",
    "ErrorBatchProcessingStopped", "ErrorExceededConnectionCount", "ErrorInternalServerError", "RateLimitError",
    "ErrorServerTemporaryError"})
#: Server ids that no longer lead to an item (deleted, or moved with its mailbox): look it up by tag.
GONE_ERRORS = frozenset({"ErrorItemNotFound", "ErrorInvalidIdMalformed", "ErrorInvalidIdNotAnItemAttachmentId",
                          "ErrorInvalidIdMalformedEwsLegacyIdFormat"})
BUSY_TYPES = {"Free": "free", "Tentative": "tentative", "Busy": "busy", "OOF": "oof",
               "WorkingElsewhere": "elsewhere", "NoData": "unknown"}
#: The fields we manage on a meeting; an update writes only those that changed.
MEETING_FIELDS = ("samtale_id", "subject", "start", "end", "location", "required_attendees", "optional_attendees",
                   "resources", "is_cancelled")

T = TypeVar("T")


def missing_secret() -> ConfigError:
    """The error for a password that is nowhere to be found."""
    return ConfigError(
        tr(f"Fant ikke Exchange-passordet ({SECRET_NAME}).", f"The Exchange password ({SECRET_NAME}) was not found."),
        hint=tr(f"Sett miljøvariabelen {env_name(SECRET_NAME)}, eller lagre det i nøkkelringen med "
                f'`{keyring_command(SECRET_NAME)}`. På en Windows-PC i domenet kan [ews] auth = "sspi" i {TOML} '
                "logge inn som den innloggede brukeren uten passord.",
                f"Set the environment variable {env_name(SECRET_NAME)}, or store it in the keyring with "
                f'`{keyring_command(SECRET_NAME)}`. On a Windows PC in the domain, [ews] auth = "sspi" in {TOML} '
                "logs in as the signed-in user without a password."))


def missing_extra(auth: str) -> ConfigError:
    """The error for Kerberos or SSPI without the package exchangelib needs for it."""
    extra, module = EXTRAS[auth]
    return ConfigError(
        tr(f'[ews] auth = "{auth}" trenger Python-pakken {module}, som ikke er installert.',
           f'[ews] auth = "{auth}" needs the Python package {module}, which is not installed.'),
        hint=tr(f'Installer den med `pip install "{extra}"`, eller bruk [ews] auth = "ntlm" i {TOML}. '
                "(Kerberos og SSPI er ikke prøvd mot en ekte server i denne versjonen.)",
                f'Install it with `pip install "{extra}"`, or use [ews] auth = "ntlm" in {TOML}. '
                "(Kerberos and SSPI have not been tried against a real server in this version.)"))
