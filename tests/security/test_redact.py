from __future__ import annotations

import logging

import pytest

from localctl.security.redact import REDACTED, SecretRedactor


@pytest.mark.parametrize(
    ("message", "expected"),
    [
        ("> Authorization: Basic Q1MxOnNlY3JldA==", f"> Authorization: Basic {REDACTED}"),
        ("< authorization: Bearer tok.en", f"< authorization: Bearer {REDACTED}"),
        (
            "headers {'Authorization': 'Basic abc'}",
            f"headers {{'Authorization': 'Basic {REDACTED}'}}",
        ),
        ("Proxy-Authorization: xyz", f"Proxy-Authorization: {REDACTED}"),
        ("> User-Agent: ACME", "> User-Agent: ACME"),
    ],
)
def test_authorization_values_are_redacted(message: str, expected: str) -> None:
    assert SecretRedactor().redact(message) == expected


def test_registered_secrets_are_redacted_in_formatted_records() -> None:
    redactor = SecretRedactor()
    redactor.add_secret("hunter2-password")
    redactor.add_secret("ab")  # too short to redact safely
    record = logging.LogRecord(
        "x", logging.INFO, __file__, 1, "pw=%s, %s", ("hunter2-password", "ab"), None
    )
    assert redactor.filter(record)
    assert record.getMessage() == f"pw={REDACTED}, ab"
