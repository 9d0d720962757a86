"""The user models on both databases: AbstractUser's fields, create_user and
create_superuser, check_password (upgrading old hashes), AnonymousUser, get_user_model
and the secret key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest

import aksara
from aksara.auth import (
    AbstractBaseUser,
    AbstractUser,
    AnonymousUser,
    create_superuser,
    create_user,
    get_secret_key,
    get_user_model,
)
from aksara.auth.models import load_user
from aksara.db import Database
from aksara.exceptions import ConfigurationError
from aksara.orm.registry import registry
from examples.blog.models import User
from tests.api.auth_support import CHEAP_HASHER, SECRET, configure, make_user


@pytest.fixture
async def member_model(db: Database) -> AsyncIterator[type[AbstractUser]]:
    """A concrete AbstractUser with a table of its own, gone after the test."""

    class Member(AbstractUser):
        class Meta:
            table_name = "auth_test_members"

    await aksara.create_tables([Member])
    try:
        yield Member
    finally:
        await aksara.drop_tables([Member])
        registry.unregister(Member)


async def test_an_abstract_user_has_djangos_fields_and_flags(
    member_model: type[AbstractUser],
) -> None:
    configure(USER_MODEL=member_model)
    assert get_user_model() is member_model
    ada = await create_user("ada", "analytical", email="ada@example.com")
    root = await create_superuser("root", "r00t")
    fresh = await member_model.objects.get(username="ada")
    assert (fresh.email, fresh.is_active, fresh.is_staff, fresh.is_superuser) == (
        "ada@example.com",
        True,
        False,
        False,
    )
    assert fresh.date_joined is not None and fresh.last_login is None
    assert fresh.password != "analytical" and fresh.password.startswith("$argon2id$")
    assert await fresh.check_password("analytical")
    assert not await fresh.check_password("Analytical")
    assert fresh.is_authenticated and not fresh.is_anonymous
    assert fresh.get_username() == "ada" == ada.get_username()
    stored = await member_model.objects.get(pk=root.pk)
    assert stored.is_staff and stored.is_superuser
    with pytest.raises(aksara.IntegrityError):
        await create_user("ada", "again")
    with pytest.raises(ValueError, match="needs a username"):
        await create_user("", "x")


async def test_a_user_without_a_password_cannot_log_in(db: Database) -> None:
    configure()
    user = await create_user("nopass@example.com", None, name="n")
    assert not user.has_usable_password()
    assert not await user.check_password("")
    user.set_password("now")
    assert user.has_usable_password() and await user.check_password("now")
    user.set_unusable_password()
    assert not await user.check_password("now")


async def test_check_password_upgrades_a_hash_made_with_older_parameters(db: Database) -> None:
    configure()
    user = await make_user("old@example.com", "pw")
    old = user.password
    aksara.configure(PASSWORD_HASHER={**CHEAP_HASHER, "time_cost": 2})
    assert not await user.check_password("wrong")
    assert (await User.objects.get(pk=user.pk)).password == old  # nothing upgraded on failure
    assert await user.check_password("pw")
    stored = (await User.objects.get(pk=user.pk)).password
    assert stored != old and "t=2" in stored
    assert await (await User.objects.get(pk=user.pk)).check_password("pw")


async def test_load_user_takes_the_key_as_text_and_skips_inactive_users(db: Database) -> None:
    configure()
    user = await make_user("load@example.com")
    assert (await load_user(str(user.pk))).pk == user.pk
    assert await load_user("999") is None
    assert await load_user("not-a-number") is None
    user.is_active = False
    await user.save()
    assert await load_user(str(user.pk)) is None


def test_anonymous_user() -> None:
    anonymous = AnonymousUser()
    assert not anonymous.is_authenticated and anonymous.is_anonymous
    assert anonymous.pk is None and anonymous.id is None
    assert not anonymous.is_staff and not anonymous.is_superuser
    assert anonymous == AnonymousUser() and anonymous.get_username() == ""


def test_the_user_model_is_found_or_named() -> None:
    assert get_user_model() is User  # the one concrete subclass defined
    aksara.configure(USER_MODEL="examples.blog.models.User")
    assert get_user_model() is User
    aksara.configure(USER_MODEL=User)
    assert get_user_model() is User


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("examples.blog.models.Nobody", "cannot be imported"),
        ("examples.blog.models.Post", "is not a subclass of aksara.auth.AbstractBaseUser"),
        (AbstractBaseUser, "is abstract"),
    ],
)
def test_a_wrong_user_model_is_refused(choice: Any, message: str) -> None:
    aksara.configure(USER_MODEL=choice)
    with pytest.raises(ConfigurationError, match=message):
        get_user_model()


def test_without_a_secret_key_signing_is_refused_unless_debug(
    caplog: pytest.LogCaptureFixture,
) -> None:
    with pytest.raises(ConfigurationError, match="SECRET_KEY is not set"):
        get_secret_key()
    aksara.configure(DEBUG=True)
    with caplog.at_level(logging.WARNING, logger="aksara.auth"):
        key = get_secret_key()
        assert get_secret_key() == key and len(key) >= 32
    aksara.configure(SECRET_KEY=SECRET)
    assert get_secret_key() == SECRET


def test_a_short_secret_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="at least 32 characters"):
        aksara.configure(SECRET_KEY="short")
