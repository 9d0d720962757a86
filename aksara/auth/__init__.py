"""Users and passwords: the user models, ``AnonymousUser``, argon2 hashing and helpers to
create users (``aksara.api.authentication`` authenticates requests with them)."""

from aksara.auth.keys import get_secret_key
from aksara.auth.models import (
    AbstractBaseUser,
    AbstractUser,
    AnonymousUser,
    create_superuser,
    create_user,
    get_user_model,
)
from aksara.auth.passwords import (
    acheck_password,
    amake_password,
    check_password,
    is_password_usable,
    make_password,
)

__all__ = [
    "AbstractBaseUser",
    "AbstractUser",
    "AnonymousUser",
    "acheck_password",
    "amake_password",
    "check_password",
    "create_superuser",
    "create_user",
    "get_secret_key",
    "get_user_model",
    "is_password_usable",
    "make_password",
]
