"""Sign and verify the identity a prep file carries (DESIGN.md §5).

The MAC is HMAC-SHA256 with the folder's key (`.samtale/key`) over a canonical encoding of
every field of `domain.prepsheet.Identity`, so a file whose SamtaleID, AnsattID, variant, round or
template version was edited no longer verifies and is quarantined instead of guessed at.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json

from samtale_automation.domain.prepsheet import Identity

# A domain prefix keeps these MACs distinct from any other use of the same key.
_DOMAIN = b"samtale-identity/1\n"


def canonical(identity: Identity) -> bytes:
    """Encode every Identity field unambiguously (sorted JSON, UTF-8, no spaces)."""
    # JSON with sorted keys quotes and escapes each value, so no two identities share an encoding,
    # and a field added to Identity later is covered without touching this function.
    fields = {f.name: str(getattr(identity, f.name)) for f in dataclasses.fields(identity)}
    return _DOMAIN + json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def sign(identity: Identity, key: bytes) -> str:
    """Return the HMAC-SHA256 of the identity under `key` as 64 lowercase hex digits."""
    if not key:
        raise ValueError("empty HMAC key")
    return hmac.new(key, canonical(identity), hashlib.sha256).hexdigest()


def verify(identity: Identity, mac: str, key: bytes) -> bool:
    """Tell, in constant time, whether `mac` is the identity's MAC under `key`."""
    expected = sign(identity, key).encode("ascii")
    # Text from a returned file may hold anything; encode it the same way whatever it is, so the
    # comparison itself never raises and its time does not depend on where the strings differ.
    given = mac.strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected, given)
