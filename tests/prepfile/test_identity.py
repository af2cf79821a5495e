"""The HMAC identity a prep file carries (identity.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from samtale_automation.domain.prepsheet import Identity
from samtale_automation.prepfile.identity import canonical, sign, verify

KEY = b"k" * 32
IDENTITY = Identity("2027-1001", "1001", "ansatt", "2027", "1")


def test_sign_is_stable_hex() -> None:
    """Verify the MAC is 64 lowercase hex digits and the same for the same identity and key."""
    mac = sign(IDENTITY, KEY)
    assert re.fullmatch(r"[0-9a-f]{64}", mac)
    assert mac == sign(Identity("2027-1001", "1001", "ansatt", "2027", "1"), KEY)


def test_verify_accepts_own_mac_in_any_case_and_padding() -> None:
    """Verify the identity's own MAC verifies, also upper-cased or with spaces around it (as a cell may hold)."""
    mac = sign(IDENTITY, KEY)
    assert verify(IDENTITY, mac, KEY)
    assert verify(IDENTITY, f"  {mac.upper()} ", KEY)


@pytest.mark.parametrize("field", [f.name for f in dataclasses.fields(Identity)])
def test_every_field_is_covered(field: str) -> None:
    """Verify changing any one Identity field makes the old MAC fail."""
    mac = sign(IDENTITY, KEY)
    changed = dataclasses.replace(IDENTITY, **{field: getattr(IDENTITY, field) + "x"})
    assert not verify(changed, mac, KEY)


def test_other_key_fails() -> None:
    """Verify a MAC made with another folder's key does not verify."""
    assert not verify(IDENTITY, sign(IDENTITY, b"x" * 32), KEY)


@pytest.mark.parametrize("mac", ["", "ø" * 64, "0" * 64, "g" * 64, "x" * 10_000, "\x00"])
def test_garbage_mac_is_false_not_an_error(mac: str) -> None:
    """Verify any text in the MAC cell gives False rather than an exception."""
    assert verify(IDENTITY, mac, KEY) is False


def test_encoding_is_unambiguous() -> None:
    """Verify moving a separator between fields changes the encoding (and so the MAC)."""
    a = Identity("2027-1", "001", "ansatt", "2027")
    b = Identity("2027-", "1001", "ansatt", "2027")
    assert canonical(a) != canonical(b)
    assert sign(a, KEY) != sign(b, KEY)
    assert b'"conversation_id":"2027-1"' in canonical(a)


def test_empty_key_is_refused() -> None:
    """Verify signing with an empty key raises instead of producing a worthless MAC."""
    with pytest.raises(ValueError, match="empty"):
        sign(IDENTITY, b"")
