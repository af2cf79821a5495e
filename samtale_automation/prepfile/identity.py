"""Sign and verify the identity a prep file carries (DESIGN.md §5).

The MAC is HMAC-SHA256 with the folder's key (`.samtale/key`). Each template version has its rule:

- version 1 (release 0.1.0, files that may still be out with employees): over the five Identity
  fields only (conversation, employee, variant, round, template version);
- version 2 (files made from now on): over every row of the hidden sheet in order — the identity,
  the choice limit, the region list and the visible identity text — so none of them can be raised,
  dropped or added to without the file being quarantined.

What it proves: the hidden values were written by this samtale folder (whoever holds its key) and
not changed since. What it cannot prove: who filled in the visible cells — anyone who has a person's
file can fill it in — nor that the content belongs to the identity, beyond the visible identity block
a version 2 file carries, which the reader compares with the signed one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import json
from collections.abc import Sequence

from samtale_automation.domain.prepsheet import Identity

# A domain prefix per rule keeps these MACs distinct from each other and any other use of the key.
_DOMAIN = b"samtale-identity/1\n"
_DOMAIN_V2 = b"samtale-identity/2\n"
#: Template versions whose MAC covers only the Identity fields (files made by release 0.1.0).
IDENTITY_ONLY_VERSIONS = frozenset({"1"})


def canonical(identity: Identity) -> bytes:
    """Encode every Identity field unambiguously (sorted JSON, UTF-8, no spaces): the version 1 rule."""
    # JSON with sorted keys quotes and escapes each value, so no two identities share an encoding,
    # and a field added to Identity later is covered without touching this function.
    fields = {f.name: str(getattr(identity, f.name)) for f in dataclasses.fields(identity)}
    return _DOMAIN + json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def canonical_rows(rows: Sequence[tuple[str, str]]) -> bytes:
    """Encode the hidden sheet's rows (key, value) in their order, unambiguously: the version 2 rule."""
    return _DOMAIN_V2 + json.dumps([[k, v] for k, v in rows], ensure_ascii=False,
                                   separators=(",", ":")).encode("utf-8")


def sign(identity: Identity, key: bytes) -> str:
    """Return the version 1 HMAC-SHA256 of the identity under `key` as 64 lowercase hex digits."""
    return _mac(canonical(identity), key)


def sign_rows(rows: Sequence[tuple[str, str]], key: bytes) -> str:
    """Return the version 2 HMAC-SHA256 of every hidden row (the MAC row itself left out)."""
    return _mac(canonical_rows(rows), key)


def verify(identity: Identity, mac: str, key: bytes) -> bool:
    """Tell, in constant time, whether `mac` is the identity's version 1 MAC under `key`."""
    return _same(sign(identity, key), mac)


def verify_rows(rows: Sequence[tuple[str, str]], mac: str, key: bytes) -> bool:
    """Tell, in constant time, whether `mac` is the version 2 MAC of these hidden rows under `key`."""
    return _same(sign_rows(rows, key), mac)


def verify_file(identity: Identity, rows: Sequence[tuple[str, str]], mac: str, key: bytes) -> bool:
    """Verify a returned file's MAC under the rule of the template version it names."""
    if identity.template_version in IDENTITY_ONLY_VERSIONS:
        return verify(identity, mac, key)
    return verify_rows(rows, mac, key)


def _mac(message: bytes, key: bytes) -> str:
    if not key:
        raise ValueError("empty HMAC key")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def _same(expected: str, mac: str) -> bool:
    # Text from a returned file may hold anything; encode it the same way whatever it is, so the
    # comparison itself never raises and its time does not depend on where the strings differ.
    given = mac.strip().lower().encode("utf-8", errors="replace")
    return hmac.compare_digest(expected.encode("ascii"), given)
