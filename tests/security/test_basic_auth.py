from __future__ import annotations

import base64

from hypothesis import given
from hypothesis import strategies as st

from localctl.security.basic_auth import BasicCredentials, basic_auth_header, parse_basic_auth


def test_a_header_round_trips_with_a_colon_in_the_password() -> None:
    credentials = BasicCredentials("CS 1", "pass:word-0123456789")
    assert parse_basic_auth(basic_auth_header(credentials)) == credentials


def test_the_scheme_is_case_insensitive() -> None:
    encoded = base64.b64encode(b"CS1:secret").decode()
    assert parse_basic_auth(f"basic {encoded}") == BasicCredentials("CS1", "secret")


def test_other_schemes_and_missing_colons_are_not_credentials() -> None:
    encoded = base64.b64encode(b"CS1secret").decode()
    assert parse_basic_auth(f"Basic {encoded}") is None
    assert parse_basic_auth("Bearer abc") is None
    assert parse_basic_auth(None) is None


def test_the_repr_hides_the_password() -> None:
    assert "secret" not in repr(BasicCredentials("CS1", "secret"))


@given(st.text())
def test_any_header_value_parses_or_is_none_never_raises(value: str) -> None:
    result = parse_basic_auth(value)
    assert result is None or isinstance(result, BasicCredentials)
