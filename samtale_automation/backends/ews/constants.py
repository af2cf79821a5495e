"""The fixed values of Exchange Web Services the ews backend keeps to: our tag, limits, error classes.

The `[ews]` settings themselves are read in samtale_automation/config/ews.py.
"""

from __future__ import annotations

from typing import TypeVar

from exchangelib import (
    BASIC,
    GSSAPI,
    NTLM,
    SSPI,
)

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
