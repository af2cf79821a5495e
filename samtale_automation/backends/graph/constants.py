"""The fixed values of Microsoft Graph the graph backend keeps to: our tag, the time zone, limits.

The `[graph]` settings themselves are read in samtale_automation/config/graph.py.
"""

from __future__ import annotations

import datetime as dt

TAG_GUID = "c11ff724-aa03-4555-9952-8fa248a11c3e"
#: The named MAPI property holding `Meeting.key` (the same property the ews backend uses).
TAG_ID = f"String {{{TAG_GUID}}} Name samtale-id"
#: Graph does not take «Europe/Oslo»; this Windows zone has the same rules.
WINDOWS_ZONE = "W. Europe Standard Time"
PREFER = f'outlook.timezone="{WINDOWS_ZONE}", IdType="ImmutableId"'
SECRET_NAME = "graph_client_secret"
CACHE_NAME = "graph_token_cache"
#: Requests per `$batch` (Graph's limit).
BATCH_LIMIT = 20
#: A `$batch` body stays under Graph's 4 MB request limit.
BATCH_BODY_LIMIT = 3_500_000
#: Files this large or larger go through an upload session instead of inline `contentBytes`.
INLINE_LIMIT = 3 * 1024 * 1024
#: Upload session ranges: at most 4 MB, a multiple of 320 KiB as the docs ask.
UPLOAD_CHUNK = 10 * 320 * 1024
#: Tag lookups merged into one filtered GET (keeps the URL well under 2 kB).
LOOKUP_KEYS = 8
#: getSchedule takes at most 20 people and a window shorter than 62 days.
SCHEDULE_PEOPLE = 20
SCHEDULE_WINDOW = dt.timedelta(days=61)
RETRY_DELAYS = (1.0, 4.0, 15.0)
THROTTLED = frozenset({429, 503, 504})
TIMEOUT = 60.0
#: Folder names Graph knows without a lookup (and Outlook's Norwegian name for the inbox).
WELL_KNOWN_FOLDERS = {"inbox": "inbox", "innboks": "inbox", "archive": "archive", "arkiv": "archive",
                      "drafts": "drafts", "sentitems": "sentitems", "deleteditems": "deleteditems",
                      "junkemail": "junkemail"}
#: Part size for the token cache in the keyring (Windows Credential Manager holds 2560 bytes of UTF-16).
CACHE_PART = 1000
EVENT_SELECT = "id,changeKey,subject,start,end,location,attendees,sensitivity,hasAttachments,isCancelled"
EVENT_EXPAND = f"attachments($select=id,name),singleValueExtendedProperties($filter=id eq '{TAG_ID}')"
TOML = "samtale.toml"
PERMISSIONS = "Calendars.ReadWrite, Mail.Send, Mail.ReadWrite"
