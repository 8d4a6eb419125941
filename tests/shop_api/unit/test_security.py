"""Password hashing and access tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from shop_api.core.config import Settings
from shop_api.core.security import PasswordHasher, create_access_token, decode_access_token


@pytest.fixture(scope="module")
def settings():
    return Settings(argon2_time_cost=1, argon2_memory_kib=1024)


def test_passwords_are_hashed_with_argon2id(settings):
    hasher = PasswordHasher(settings)
    hashed = hasher.hash("correct horse battery")

    assert hashed.startswith("$argon2id$")
    assert hasher.verify("correct horse battery", hashed) == (True, None)
    assert hasher.verify("wrong password", hashed)[0] is False


def test_weaker_hashes_are_upgraded_on_login(settings):
    old = PasswordHasher(settings).hash("correct horse battery")
    stronger = PasswordHasher(Settings(argon2_time_cost=2, argon2_memory_kib=2048))

    valid, new_hash = stronger.verify("correct horse battery", old)

    assert valid and new_hash is not None and new_hash != old


def test_unknown_account_and_corrupt_hash_fail_closed(settings):
    hasher = PasswordHasher(settings)

    assert hasher.verify("anything", None) == (False, None)
    assert hasher.verify("anything", "not-a-hash") == (False, None)


def test_token_round_trip(settings):
    user_id = uuid.uuid4()
    token = create_access_token(settings, user_id, 3, datetime.now(UTC))

    claims = decode_access_token(settings, token)

    assert claims is not None and claims.user_id == user_id and claims.token_version == 3


def test_expired_tampered_and_foreign_tokens_are_rejected(settings):
    user_id = uuid.uuid4()
    expired = create_access_token(settings, user_id, 0, datetime.now(UTC) - timedelta(days=30))
    valid = create_access_token(settings, user_id, 0, datetime.now(UTC))
    tampered = valid[:-4] + ("AAAA" if not valid.endswith("AAAA") else "BBBB")
    foreign = jwt.encode(
        {"sub": str(user_id), "ver": 0, "exp": 4102444800}, "another-secret-key-that-is-long-enough"
    )
    unsigned = jwt.encode({"sub": str(user_id), "ver": 0, "exp": 4102444800}, None, "none")

    for token in (expired, tampered, foreign, unsigned, "garbage"):
        assert decode_access_token(settings, token) is None
