"""Passwords: argon2id hashes, checks, unusable passwords, rehashing when the parameters
change, and the settings that configure them."""

from __future__ import annotations

import pytest

import aksara
from aksara.auth import (
    check_password,
    is_password_usable,
    make_password,
)
from aksara.auth.passwords import acheck_password, amake_password, needs_rehash
from aksara.exceptions import ConfigurationError
from tests.api.auth_support import CHEAP_HASHER


@pytest.fixture(autouse=True)
def _cheap() -> None:
    aksara.configure(PASSWORD_HASHER=CHEAP_HASHER)


def test_a_hash_is_argon2id_salted_and_checks_only_its_password() -> None:
    first = make_password("s3cret")
    second = make_password("s3cret")
    assert first.startswith("$argon2id$")
    assert "s3cret" not in first
    assert first != second  # a salt of its own each time
    assert check_password("s3cret", first)
    assert check_password("s3cret", second)
    assert not check_password("S3cret", first)
    assert not check_password("", first)


def test_an_unusable_or_garbled_hash_matches_nothing() -> None:
    unusable = make_password(None)
    assert unusable.startswith("!")
    assert not is_password_usable(unusable)
    assert not is_password_usable(None)
    assert not is_password_usable("")
    assert is_password_usable(make_password("x"))
    assert not check_password("x", unusable)
    assert not check_password("x", None)
    assert not check_password("x", "$argon2id$not-a-hash")
    assert not check_password("x", "plain text")


def test_a_hash_made_with_other_parameters_needs_rehashing() -> None:
    old = make_password("pw")
    assert not needs_rehash(old)
    aksara.configure(PASSWORD_HASHER={**CHEAP_HASHER, "time_cost": 2})
    assert needs_rehash(old)
    assert check_password("pw", old)  # still checks under the new parameters
    assert not needs_rehash(make_password("pw"))
    assert needs_rehash("garbage")


async def test_the_async_versions_run_in_a_thread_and_agree() -> None:
    encoded = await amake_password("pw")
    assert await acheck_password("pw", encoded)
    assert not await acheck_password("nope", encoded)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"time_cost": 0}, "PASSWORD_HASHER['time_cost'] must be an integer >= 1"),
        ({"rounds": 3}, "Unknown PASSWORD_HASHER key 'rounds'"),
        ("argon2", "PASSWORD_HASHER must be a dict"),
    ],
)
def test_bad_hasher_settings_are_refused(value: object, message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        aksara.configure(PASSWORD_HASHER=value)
    assert message in str(error.value)
