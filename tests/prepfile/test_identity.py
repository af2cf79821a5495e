"""The HMAC identity a prep file carries (identity.py)."""

from __future__ import annotations

import dataclasses
import re

import pytest

from samtale_automation.domain.prepsheet import Identity
from samtale_automation.prepfile.identity import canonical, sign, sign_rows, verify, verify_file, verify_rows

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


# ---- version 2: every hidden row ----------------------------------------------------------------

ROWS = [("SamtaleID", "2027-1001"), ("AnsattID", "1001"), ("Variant", "ansatt"), ("Runde", "2027"),
        ("Malversjon", "2"), ("MaksValg", "10"), ("Områder", "Velg,Notater"), ("Synlig", "2027-1001 · 1001 · ansatt")]


@pytest.mark.parametrize("index", range(len(ROWS)))
def test_version_2_covers_every_hidden_value(index: int) -> None:
    """Verify changing any one hidden row's value (the choice limit, the regions, the visible copy too) fails."""
    mac = sign_rows(ROWS, KEY)
    changed = [(k, v + "0") if i == index else (k, v) for i, (k, v) in enumerate(ROWS)]
    assert verify_rows(ROWS, mac, KEY) and not verify_rows(changed, mac, KEY)


def test_version_2_covers_added_dropped_and_reordered_rows() -> None:
    """Verify a row added, dropped or moved makes the MAC fail: the rows are signed in their order."""
    mac = sign_rows(ROWS, KEY)
    assert not verify_rows([*ROWS, ("MaksValg", "60")], mac, KEY)
    assert not verify_rows(ROWS[:-1], mac, KEY)
    assert not verify_rows([ROWS[1], ROWS[0], *ROWS[2:]], mac, KEY)


def test_each_template_version_verifies_under_its_own_rule() -> None:
    """Verify a version 1 file checks the identity-only MAC and a version 2 file the all-rows MAC, never the other."""
    old = Identity("2027-1001", "1001", "ansatt", "2027", "1")
    new = Identity("2027-1001", "1001", "ansatt", "2027", "2")
    assert verify_file(old, [("MaksValg", "60")], sign(old, KEY), KEY)  # 0.1.0 did not sign MaksValg
    assert not verify_file(old, ROWS, sign_rows(ROWS, KEY), KEY)
    assert verify_file(new, ROWS, sign_rows(ROWS, KEY), KEY)
    assert not verify_file(new, ROWS, sign(new, KEY), KEY)  # a version 2 file cannot fall back to the weaker rule
