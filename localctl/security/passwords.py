"""Salted password hashes for station basic auth: scrypt from the standard library.

The configuration holds only the encoded hash, ``$scrypt$ln=14,r=8,p=1$<salt>$<key>`` (salt
and key base64 without padding), which `localctl hash-password` prints. The cost parameters
travel in the string, so stronger ones can be introduced without breaking stored hashes.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
from collections.abc import Callable
from dataclasses import dataclass

__all__ = [
    "PasswordHash",
    "hash_password",
    "is_password_hash",
    "password_problem",
    "verify_password",
]

# 2**14 x r=8 is 16 MiB and about 40 ms a check: slow enough to hurt offline guessing, fast
# enough for a restart storm once successful checks are cached (see station_auth).
_LOG2_N = 14
_R = 8
_P = 1
_SALT_BYTES = 16
_KEY_BYTES = 32
_MAX_MEMORY_BYTES = 256 * 1024 * 1024
_FORMAT = re.compile(
    r"^\$scrypt\$ln=(?P<ln>\d{1,2}),r=(?P<r>\d{1,2}),p=(?P<p>\d{1,2})"
    r"\$(?P<salt>[A-Za-z0-9+/]{16,})\$(?P<key>[A-Za-z0-9+/]{32,})$"
)

# A00.FR.205/304 and the passwordString type (2.0.1 part 2, 2.1.3): 16 to 40 characters of
# a-z, A-Z, 0-9 and * - _ = : + | @ .
_PASSWORD_STRING = re.compile(r"^[A-Za-z0-9*\-_=:+|@.]{16,40}$")


def password_problem(password: str) -> str | None:
    """What makes `password` unfit as an OCPP 2.0.1 BasicAuthPassword, or None. (1.6 stations
    use up to 40 hex digits, which fits too.)"""
    if not 16 <= len(password) <= 40:
        return f"the password has {len(password)} characters; A00.FR.205 wants 16 to 40"
    if not _PASSWORD_STRING.match(password):
        return "the password may hold only a-z, A-Z, 0-9 and * - _ = : + | @ . (passwordString)"
    return None


@dataclass(frozen=True, slots=True)
class PasswordHash:
    log2_n: int
    r: int
    p: int
    salt: bytes
    key: bytes

    @classmethod
    def parse(cls, encoded: str) -> PasswordHash:
        match = _FORMAT.match(encoded)
        if match is None:
            raise ValueError("not a password hash from `localctl hash-password`")
        log2_n, r, p = int(match["ln"]), int(match["r"]), int(match["p"])
        if not (10 <= log2_n <= 20 and 1 <= r <= 32 and 1 <= p <= 16):
            raise ValueError("scrypt parameters out of range")
        return cls(log2_n, r, p, _unb64(match["salt"]), _unb64(match["key"]))

    def encode(self) -> str:
        return f"$scrypt$ln={self.log2_n},r={self.r},p={self.p}${_b64(self.salt)}${_b64(self.key)}"

    def derive(self, password: str) -> bytes:
        return hashlib.scrypt(
            password.encode("utf-8"),  # A00.FR.205: the password is a UTF-8 string
            salt=self.salt,
            n=2**self.log2_n,
            r=self.r,
            p=self.p,
            maxmem=_MAX_MEMORY_BYTES,
            dklen=len(self.key),
        )


def hash_password(password: str, *, random_bytes: Callable[[int], bytes] = os.urandom) -> str:
    salt = random_bytes(_SALT_BYTES)
    template = PasswordHash(_LOG2_N, _R, _P, salt, b"\0" * _KEY_BYTES)
    return PasswordHash(_LOG2_N, _R, _P, salt, template.derive(password)).encode()


def verify_password(password: str, encoded: str) -> bool:
    """Constant-time comparison of the derived key; False for a malformed hash too."""
    try:
        stored = PasswordHash.parse(encoded)
    except ValueError:
        return False
    return hmac.compare_digest(stored.derive(password), stored.key)


def is_password_hash(encoded: str) -> bool:
    try:
        PasswordHash.parse(encoded)
    except ValueError:
        return False
    return True


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii").rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.b64decode(text + "=" * (-len(text) % 4))
