from __future__ import annotations

import pytest

from localctl.security.passwords import (
    PasswordHash,
    hash_password,
    is_password_hash,
    password_problem,
    verify_password,
)
from tests.security.conftest import STATION_HASH, STATION_PASSWORD


def test_a_hash_verifies_its_password_and_no_other() -> None:
    assert verify_password(STATION_PASSWORD, STATION_HASH)
    assert not verify_password(STATION_PASSWORD + "x", STATION_HASH)
    assert not verify_password("", STATION_HASH)


def test_the_hash_is_salted_and_does_not_contain_the_password() -> None:
    other = hash_password(STATION_PASSWORD)
    assert other != STATION_HASH
    assert STATION_PASSWORD not in other
    assert PasswordHash.parse(other).salt != PasswordHash.parse(STATION_HASH).salt


def test_the_salt_comes_from_the_injected_source() -> None:
    encoded = hash_password(STATION_PASSWORD, random_bytes=lambda n: b"\x01" * n)
    assert PasswordHash.parse(encoded).salt == b"\x01" * 16
    assert verify_password(STATION_PASSWORD, encoded)


@pytest.mark.parametrize(
    "text",
    [STATION_PASSWORD, "$scrypt$ln=30,r=8,p=1$AAAAAAAAAAAAAAAAAAAAAA$" + "A" * 43, "", "$scrypt$"],
)
def test_plain_passwords_and_malformed_hashes_are_not_hashes(text: str) -> None:
    assert not is_password_hash(text)
    assert not verify_password(text, text)


def test_a_hash_survives_encoding() -> None:
    assert is_password_hash(STATION_HASH)
    assert PasswordHash.parse(STATION_HASH).encode() == STATION_HASH


@pytest.mark.parametrize(
    ("password", "fit"),
    [
        ("a" * 15, False),
        ("a" * 16, True),
        ("a" * 40, True),
        ("a" * 41, False),
        ("abcdefgh*-_=:+|@.", True),
        ("abcdefghijklmnop qrs", False),
        ("abcdefghijklmnopé", False),
    ],
)
def test_the_password_rules_of_a00_fr_205(password: str, fit: bool) -> None:
    assert (password_problem(password) is None) == fit
