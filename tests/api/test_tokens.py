"""Token authentication on both databases: obtaining and refreshing tokens, then forged,
expired, malformed, ``alg: none`` and HS/RS-confused tokens, all refused with a 401 that
names the scheme."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from types import SimpleNamespace
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

import aksara
from aksara.api import (
    IsAdminUser,
    IsAuthenticated,
    ReadOnlyModelViewSet,
    StatelessTokenAuthentication,
    TokenAuthentication,
    TokenViewSet,
)
from aksara.api.authentication import TokenUser
from aksara.auth.tokens import ACCESS, InvalidToken, get_token_codec
from aksara.db import Database
from aksara.debug import capture_queries
from aksara.exceptions import ConfigurationError
from examples.blog.models import User
from examples.blog.serializers import UserSerializer
from tests.api.auth_support import SECRET, bearer, configure, make_user, serve


class ProfileViewSet(ReadOnlyModelViewSet):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticated]
    queryset = User.objects.all()
    serializer_class = UserSerializer


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: dict[str, Any], claims: dict[str, Any], key: bytes | None) -> str:
    """A JWT assembled by hand (PyJWT refuses to make the forgeries tested here)."""
    signing_input = f"{b64(json.dumps(header).encode())}.{b64(json.dumps(claims).encode())}"
    if key is None:
        return signing_input + "."
    signature = hmac.new(key, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(signature)}"


def claims_of(user: Any, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    return {"sub": str(user.pk), "type": "access", "iat": now, "exp": now + 60, **changes}


async def refused(client: httpx.AsyncClient, token: str, keyword: str = "Bearer") -> str:
    response = await client.get("/api/profiles/", headers={"Authorization": f"{keyword} {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"] == 'Bearer realm="api"'
    detail: str = response.json()["detail"]
    return detail


async def test_obtain_then_use_then_refresh(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com", "pw-ann")
    async with serve(("token", TokenViewSet), ("profiles", ProfileViewSet)) as client:
        got = await client.post("/api/token/", json={"email": ann.email, "password": "pw-ann"})
        assert got.status_code == 200, got.text
        tokens = got.json()
        assert set(tokens) == {"access", "refresh"}
        me = await client.get(
            f"/api/profiles/{ann.pk}/", headers={"Authorization": f"Bearer {tokens['access']}"}
        )
        assert me.status_code == 200 and me.json()["email"] == ann.email
        # "username" is accepted whatever USERNAME_FIELD is, and "Token" as well as "Bearer".
        again = await client.post("/api/token/", json={"username": ann.email, "password": "pw-ann"})
        token_keyword = {"Authorization": f"Token {again.json()['access']}"}
        assert (await client.get("/api/profiles/", headers=token_keyword)).status_code == 200
        refreshed = await client.post("/api/token/refresh/", json={"refresh": tokens["refresh"]})
        assert refreshed.status_code == 200 and set(refreshed.json()) == {"access"}
        new = {"Authorization": f"Bearer {refreshed.json()['access']}"}
        assert (await client.get("/api/profiles/", headers=new)).status_code == 200
        # An access token is no refresh token, and the other way round.
        wrong = await client.post("/api/token/refresh/", json={"refresh": tokens["access"]})
        assert wrong.status_code == 401 and "not an refresh token" in wrong.json()["detail"]
        assert "not an access token" in await refused(client, tokens["refresh"])
    assert (await User.objects.get(pk=ann.pk)).last_login is not None


async def test_wrong_credentials_get_no_token(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com", "pw-ann")
    async with serve(("token", TokenViewSet)) as client:
        bad = await client.post("/api/token/", json={"email": ann.email, "password": "nope"})
        assert bad.status_code == 401
        assert bad.json() == {"detail": "No active account found with the given credentials."}
        nobody = await client.post("/api/token/", json={"email": "x@y.z", "password": "pw-ann"})
        assert nobody.status_code == 401
        missing = await client.post("/api/token/", json={})
        assert missing.status_code == 400
        assert missing.json() == {
            "username": ["This field is required."],
            "password": ["This field is required."],
        }
        typed = await client.post("/api/token/", json={"email": ann.email, "password": 5})
        assert typed.json() == {"password": ["Not a valid string."]}
        broken = await client.post(
            "/api/token/", content=b"{nope", headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        assert (
            await client.post("/api/token/refresh/", json={"refresh": "x.y.z"})
        ).status_code == 401
        ann.is_active = False
        await ann.save()
        inactive = await client.post("/api/token/", json={"email": ann.email, "password": "pw-ann"})
        assert inactive.status_code == 401


async def test_forged_expired_and_malformed_tokens_are_401s(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com")
    async with serve(("profiles", ProfileViewSet)) as client:
        anonymous = await client.get("/api/profiles/")
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
        assert anonymous.json() == {"detail": "Authentication credentials were not provided."}
        other_key = jwt.encode(claims_of(ann), "another-secret-" + "x" * 40, algorithm="HS256")
        assert "Signature verification failed" in await refused(client, other_key)
        expired = jwt.encode(
            claims_of(ann, iat=int(time.time()) - 120, exp=int(time.time()) - 60),
            SECRET,
            algorithm="HS256",
        )
        assert await refused(client, expired) == "Token has expired."
        no_expiry = claims_of(ann)
        del no_expiry["exp"]
        assert "exp" in await refused(client, jwt.encode(no_expiry, SECRET, algorithm="HS256"))
        # A valid signature over someone else's claims: the payload was swapped.
        head, _, signature = bearer(ann)["Authorization"].split()[1].split(".")
        swapped = b64(json.dumps(claims_of(ann, sub="999")).encode())
        await refused(client, f"{head}.{swapped}.{signature}")
        for garbage in ("abc", "a.b.c", "e30.e30.", "%%%.%%%.%%%"):
            await refused(client, garbage)
        spaced = await client.get("/api/profiles/", headers={"Authorization": "Bearer a b"})
        assert spaced.status_code == 401 and "without spaces" in spaced.json()["detail"]
        empty = await client.get("/api/profiles/", headers={"Authorization": "Bearer"})
        assert empty.status_code == 401
        # A token of a user deleted since.
        gone = bearer(ann)
        await ann.delete()
        response = await client.get("/api/profiles/", headers=gone)
        assert response.status_code == 401
        assert response.json()["detail"] == "User not found or inactive."


async def test_alg_none_is_refused(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com")
    async with serve(("profiles", ProfileViewSet)) as client:
        unsigned = handmade({"alg": "none", "typ": "JWT"}, claims_of(ann), None)
        assert "alg value is not allowed" in await refused(client, unsigned)
        upper = handmade({"alg": "None", "typ": "JWT"}, claims_of(ann), None)
        await refused(client, upper)


def rsa_keys() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    public = (
        key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public


async def test_rs256_tokens_and_the_hs_rs_confusion(db: Database) -> None:
    private, public = rsa_keys()
    configure(TOKEN={"algorithm": "RS256", "signing_key": private, "verifying_key": public})
    ann = await make_user("ann@example.com")
    async with serve(("profiles", ProfileViewSet)) as client:
        good = bearer(ann)
        assert jwt.get_unverified_header(good["Authorization"].split()[1])["alg"] == "RS256"
        assert (await client.get("/api/profiles/", headers=good)).status_code == 200
        # The public key is public: a token HMAC-signed with it must not pass for RS256.
        confused = handmade({"alg": "HS256", "typ": "JWT"}, claims_of(ann), public.encode())
        assert "alg value is not allowed" in await refused(client, confused)
        # Nor does an HS256 token signed with the SECRET_KEY once RS256 is configured.
        hs = jwt.encode(claims_of(ann), SECRET, algorithm="HS256")
        await refused(client, hs)
        other_private, _ = rsa_keys()
        await refused(client, jwt.encode(claims_of(ann), other_private, algorithm="RS256"))
    # A service holding only the public key verifies tokens but cannot issue them.
    configure(TOKEN={"algorithm": "RS256", "verifying_key": public})
    codec = get_token_codec()
    assert codec.decode(good["Authorization"].split()[1], ACCESS)["sub"] == str(ann.pk)
    with pytest.raises(ConfigurationError, match="signing_key"):
        codec.encode(ann.pk, ACCESS)


def test_verified_tokens_are_remembered_until_they_expire() -> None:
    configure()
    codec = get_token_codec()
    token = codec.encode(7, ACCESS)
    first = codec.decode(token, ACCESS)
    assert codec.decode(token, ACCESS) is first  # the remembered claims, not a new decode
    real_expiry = first["exp"]
    first["exp"] = int(time.time()) - 5  # as if its lifetime had passed while remembered
    verified_again = codec.decode(token, ACCESS)  # not served from memory: checked anew
    assert verified_again is not first and verified_again["exp"] == real_expiry
    codec.cache_size = 2
    tokens = [codec.encode(n, ACCESS) for n in range(3)]
    for each in tokens:
        codec.decode(each, ACCESS)
    assert len(codec._verified) == 2 and tokens[0] not in codec._verified
    # New settings, new codec: nothing verified under the old key is trusted.
    aksara.configure(SECRET_KEY="b" * 40)
    assert get_token_codec() is not codec
    with pytest.raises(InvalidToken):
        get_token_codec().decode(tokens[2], ACCESS)


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ({"algorithm": "none"}, "TOKEN['algorithm'] must be one of"),
        ({"algorithm": "RS256"}, "needs TOKEN['verifying_key']"),
        ({"lifetime": 5}, "Unknown TOKEN key 'lifetime'"),
        ({"access_ttl": 0}, "TOKEN['access_ttl'] must be a number >= 1"),
        ({"keywords": "Bearer"}, "TOKEN['keywords'] must be a non-empty list"),
    ],
)
def test_bad_token_settings_are_refused(value: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigurationError) as error:
        aksara.configure(TOKEN=value)
    assert message in str(error.value)


def test_a_short_hmac_signing_key_is_refused() -> None:
    configure(TOKEN={"signing_key": "short"})
    with pytest.raises(ConfigurationError, match="at least 32"):
        get_token_codec()


class StatelessProfiles(ProfileViewSet):
    authentication_classes = [StatelessTokenAuthentication]
    permission_classes = [IsAdminUser]


async def test_stateless_tokens_name_the_user_without_a_query(db: Database) -> None:
    configure()
    ann = await make_user("ann@example.com")
    async with serve(("profiles", StatelessProfiles)) as client:
        # IsAdminUser reads is_staff from the token: the blog's users have none.
        refused = await client.get("/api/profiles/", headers=bearer(ann))
        assert refused.status_code == 403
        assert await refused_anyway(client, "e30.e30.e30") == 401
    staff = TokenUser({"sub": "7", "is_staff": True})
    assert staff.pk == 7 and staff.is_staff and staff.is_authenticated
    assert TokenUser({"sub": "abc"}).pk == "abc" and not TokenUser({"sub": "abc"}).is_staff
    assert staff == SimpleNamespace(pk=7, is_authenticated=True)
    claims = get_token_codec().decode(
        bearer(SimpleNamespace(pk=3, is_staff=True))["Authorization"].split()[1], ACCESS
    )
    assert claims["is_staff"] is True
    async with capture_queries() as queries:
        user, _ = await StatelessTokenAuthentication()._user({"sub": str(ann.pk)})
    assert user.pk == ann.pk and len(queries) == 0


async def refused_anyway(client: httpx.AsyncClient, token: str) -> int:
    response = await client.get("/api/profiles/", headers={"Authorization": f"Bearer {token}"})
    return response.status_code
