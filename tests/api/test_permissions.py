"""Permissions on both databases: each class, composition with & | ~, async hooks, object
permissions inside get_object(), @action permissions, 401 against 403 as DRF decides them,
the get_queryset() pattern that answers 404, and the zero-cost path of open viewsets."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from starlette.requests import Request

import aksara
from aksara.api import (
    AllowAny,
    BasePermission,
    BasicAuthentication,
    IsAdminUser,
    IsAuthenticated,
    IsAuthenticatedOrReadOnly,
    ModelSerializer,
    ModelViewSet,
    ReadOnlyModelViewSet,
    Response,
    Router,
    SessionAuthentication,
    TokenAuthentication,
    action,
)
from aksara.api.access import ANONYMOUS, is_guarded
from aksara.api.permissions import SAFE_METHODS, check
from aksara.db import Database
from aksara.exceptions import ConfigurationError
from examples.blog.models import Post, User
from tests.api.auth_support import basic, bearer, configure, make_user, serve


class PostSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author"]
        read_only_fields = ["author"]


class IsAuthor(BasePermission):
    message = "Only the author may do this."

    def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        return request.method in SAFE_METHODS or obj.author_id == request.user.pk


class AsyncIsAuthor(BasePermission):
    """Async hooks, with an await that yields to the loop."""

    message = "Async says no."

    async def has_permission(self, request: Request, view: Any) -> bool:
        await asyncio.sleep(0)
        return bool(request.user.is_authenticated)

    async def has_object_permission(self, request: Request, view: Any, obj: Any) -> bool:
        await asyncio.sleep(0)
        return bool(obj.author_id == request.user.pk)


class ReadOnly(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        return request.method in SAFE_METHODS


class Posts(ModelViewSet):
    authentication_classes = [TokenAuthentication]
    permission_classes = [IsAuthenticatedOrReadOnly, IsAuthor]
    queryset = Post.objects.all()
    serializer_class = PostSerializer
    seen: list[Any] = []

    async def perform_create(self, serializer: Any) -> None:
        await serializer.save(author=self.request.user)

    def initial(self, request: Request) -> None:
        # Runs after authentication: it sees the user.
        Posts.seen.append((request.user, request.auth is not None, request.state.user))

    @action(detail=True, methods=["post"])
    async def publish(self, request: Request, pk: str) -> Response:
        post = await self.get_object()
        post.is_published = True
        await post.save(update_fields=["is_published"])
        return Response({"published": post.pk})

    @action(detail=False, permission_classes=[IsAuthenticated])
    async def mine(self, request: Request) -> Response:
        return Response({"count": await Post.objects.filter(author=request.user).count()})


class AsyncPosts(Posts):
    permission_classes = [AsyncIsAuthor]


class OwnPosts(Posts):
    """The 404 pattern: what a user may not see is not in the queryset at all."""

    permission_classes = [IsAuthenticated]

    def get_queryset(self) -> Any:
        return Post.objects.filter(author=self.request.user)


class SessionOnly(ReadOnlyModelViewSet):
    authentication_classes = [SessionAuthentication]
    permission_classes = [IsAuthenticated]
    queryset = Post.objects.all()
    serializer_class = PostSerializer


class NoAuthenticators(SessionOnly):
    authentication_classes = ()


class BasicPosts(SessionOnly):
    authentication_classes = [BasicAuthentication, TokenAuthentication]


class Open(ReadOnlyModelViewSet):
    queryset = Post.objects.all()
    serializer_class = PostSerializer

    @action(detail=False)
    async def who(self, request: Request) -> Response:
        return Response({"anonymous": request.user.is_anonymous, "auth": request.auth})


async def two_authors() -> tuple[User, User, Post]:
    ann = await make_user("ann@example.com", "pw-ann")
    bob = await make_user("bob@example.com", "pw-bob")
    post = await Post.objects.create(title="Ann's", slug="anns", author=ann)
    return ann, bob, post


async def test_object_permission_only_the_author_changes_a_post(db: Database) -> None:
    configure()
    ann, bob, post = await two_authors()
    async with serve(("posts", Posts)) as client:
        url = f"/api/posts/{post.pk}/"
        assert (await client.get(url)).status_code == 200  # anyone reads
        anonymous = await client.patch(url, json={"title": "x"})
        assert anonymous.status_code == 401
        assert anonymous.headers["www-authenticate"] == 'Bearer realm="api"'
        other = await client.patch(url, json={"title": "Bob's now"}, headers=bearer(bob))
        assert other.status_code == 403
        assert other.json() == {"detail": "Only the author may do this."}
        assert "www-authenticate" not in other.headers
        assert (await client.delete(url, headers=bearer(bob))).status_code == 403
        assert (await Post.objects.get(pk=post.pk)).title == "Ann's"
        own = await client.patch(url, json={"title": "Still Ann's"}, headers=bearer(ann))
        assert own.status_code == 200 and own.json()["title"] == "Still Ann's"
        created = await client.post(
            "/api/posts/", json={"title": "B", "slug": "b"}, headers=bearer(bob)
        )
        assert created.status_code == 201 and created.json()["author"] == bob.pk
    assert Posts.seen[-1][0].pk == bob.pk and Posts.seen[-1][1]
    assert Posts.seen[-1][2] is Posts.seen[-1][0]  # request.state.user too


async def test_action_permissions_are_checked(db: Database) -> None:
    configure()
    ann, bob, post = await two_authors()
    async with serve(("posts", Posts)) as client:
        publish = f"/api/posts/{post.pk}/publish/"
        assert (await client.post(publish)).status_code == 401  # the viewset's classes
        assert (await client.post(publish, headers=bearer(bob))).status_code == 403  # object
        assert not (await Post.objects.get(pk=post.pk)).is_published
        assert (await client.post(publish, headers=bearer(ann))).json() == {"published": post.pk}
        # @action(permission_classes=...) replaces the viewset's: even a GET needs a user.
        assert (await client.get("/api/posts/mine/")).status_code == 401
        mine = await client.get("/api/posts/mine/", headers=bearer(ann))
        assert mine.json() == {"count": 1}


async def test_async_permissions(db: Database) -> None:
    configure()
    ann, bob, post = await two_authors()
    async with serve(("posts", AsyncPosts)) as client:
        url = f"/api/posts/{post.pk}/"
        assert (await client.get(url)).status_code == 401
        refused = await client.get(url, headers=bearer(bob))
        assert refused.status_code == 403 and refused.json() == {"detail": "Async says no."}
        assert (await client.get(url, headers=bearer(ann))).status_code == 200


async def test_hidden_objects_are_404s_through_get_queryset(db: Database) -> None:
    configure()
    ann, bob, post = await two_authors()
    async with serve(("posts", OwnPosts)) as client:
        url = f"/api/posts/{post.pk}/"
        assert (await client.get(url, headers=bearer(bob))).status_code == 404
        assert (
            await client.patch(url, json={"title": "x"}, headers=bearer(bob))
        ).status_code == 404
        assert (await client.get(url, headers=bearer(ann))).status_code == 200
        listing = await client.get("/api/posts/", headers=bearer(bob))
        assert listing.json() == []


async def test_401_or_403_follows_the_first_authenticator(db: Database) -> None:
    configure()
    await two_authors()
    async with serve(
        ("session", SessionOnly), ("none", NoAuthenticators), ("basic", BasicPosts)
    ) as client:
        # The session names no WWW-Authenticate scheme: a refusal is a 403 (as in DRF).
        session = await client.get("/api/session/")
        assert session.status_code == 403
        assert session.json() == {"detail": "Authentication credentials were not provided."}
        assert "www-authenticate" not in session.headers
        nobody = await client.get("/api/none/")
        assert nobody.status_code == 403
        assert nobody.json() == {"detail": "You do not have permission to perform this action."}
        first = await client.get("/api/basic/")
        assert first.status_code == 401 and first.headers["www-authenticate"] == 'Basic realm="api"'
        # A bad token behind Basic is refused with the first class's scheme.
        bad = await client.get("/api/basic/", headers={"Authorization": "Bearer nope"})
        assert bad.status_code == 401 and bad.headers["www-authenticate"] == 'Basic realm="api"'


async def test_basic_authentication(db: Database) -> None:
    configure()
    await two_authors()
    async with serve(("basic", BasicPosts)) as client:
        good = await client.get("/api/basic/", headers=basic("ann@example.com", "pw-ann"))
        assert good.status_code == 200
        for header in (
            basic("ann@example.com", "wrong"),
            basic("nobody@example.com", "pw-ann"),
            {"Authorization": "Basic !!!"},
            {"Authorization": "Basic " + "bm9jb2xvbg=="},  # "nocolon"
        ):
            response = await client.get("/api/basic/", headers=header)
            assert response.status_code == 401, header
        wrong = await client.get("/api/basic/", headers=basic("ann@example.com", "wrong"))
        assert wrong.json() == {"detail": "Invalid username/password."}


def request_of(user: Any, method: str = "GET") -> Any:
    return SimpleNamespace(user=user, method=method)


async def test_each_class_and_composition() -> None:
    staff = SimpleNamespace(is_authenticated=True, is_staff=True)
    member = SimpleNamespace(is_authenticated=True, is_staff=False)

    async def allows(permission: Any, user: Any, method: str = "GET") -> bool:
        return await check(permission().has_permission(request_of(user, method), None))

    assert await allows(AllowAny, ANONYMOUS, "DELETE")
    assert not await allows(IsAuthenticated, ANONYMOUS)
    assert await allows(IsAuthenticated, member)
    assert await allows(IsAuthenticatedOrReadOnly, ANONYMOUS, "GET")
    assert not await allows(IsAuthenticatedOrReadOnly, ANONYMOUS, "POST")
    assert await allows(IsAuthenticatedOrReadOnly, member, "POST")
    assert await allows(IsAdminUser, staff)
    assert not await allows(IsAdminUser, member)
    assert not await allows(IsAdminUser, ANONYMOUS)
    assert await allows(IsAuthenticated & IsAdminUser, staff)
    assert not await allows(IsAuthenticated & IsAdminUser, member)
    assert await allows(IsAdminUser | ReadOnly, member, "GET")
    assert not await allows(IsAdminUser | ReadOnly, member, "POST")
    assert await allows(~IsAdminUser, member)
    assert not await allows(~IsAdminUser, staff)
    assert await allows((IsAdminUser | ReadOnly) & ~IsAdminUser, member, "GET")
    assert not await allows(IsAuthenticated & (IsAdminUser | ReadOnly), ANONYMOUS, "GET")
    # Instances compose too, and async members mix with sync ones.
    combined = IsAuthenticated() & AsyncIsAuthor()
    assert await check(combined.has_permission(request_of(member), None))
    assert not await check((~combined).has_permission(request_of(member), None))


async def test_an_or_allows_an_object_only_through_a_side_that_allowed_the_request() -> None:
    class OwnerOnly(BasePermission):
        def has_permission(self, request: Any, view: Any) -> bool:
            return False

        def has_object_permission(self, request: Any, view: Any, obj: Any) -> bool:
            return True

    either = (ReadOnly | OwnerOnly)()
    post = SimpleNamespace(author_id=1)
    assert await check(either.has_object_permission(request_of(ANONYMOUS, "GET"), None, post))
    assert not await check(either.has_object_permission(request_of(ANONYMOUS, "PUT"), None, post))


async def test_and_reports_the_refusing_sides_message() -> None:
    class First(BasePermission):
        message = "first"

    class Second(BasePermission):
        message = "second"

        def has_permission(self, request: Any, view: Any) -> bool:
            return False

    both = (First & Second)()
    assert not await check(both.has_permission(request_of(ANONYMOUS), None))
    assert both.message == "second"


async def test_open_viewsets_check_nothing_and_their_user_is_anonymous(db: Database) -> None:
    configure()
    assert not is_guarded(Open, {})
    assert is_guarded(Posts, {})
    assert is_guarded(Open, {"permission_classes": [IsAuthenticated]})
    assert is_guarded(Open, {"authentication_classes": [TokenAuthentication]})
    routes = _router(Open).routes
    assert routes and not any(getattr(route, "guarded", True) for route in routes)
    ann, _, _ = await two_authors()
    async with serve(("open", Open)) as client:
        # A token sent to a viewset that authenticates nobody is not read.
        who = await client.get("/api/open/who/", headers=bearer(ann))
        assert who.json() == {"anonymous": True, "auth": None}


def _router(viewset: Any) -> Router:
    router = Router(prefix="/api")
    router.register("x", viewset, basename="x")
    return router


async def test_the_settings_give_the_default_classes_as_dotted_paths(db: Database) -> None:
    configure(
        AUTHENTICATION=["aksara.api.authentication.TokenAuthentication"],
        PERMISSIONS=["aksara.api.permissions.IsAuthenticated"],
    )
    ann, _, _ = await two_authors()
    assert is_guarded(Open, {})
    async with serve(("open", Open)) as client:
        refused = await client.get("/api/open/")
        assert refused.status_code == 401
        assert refused.headers["www-authenticate"] == 'Bearer realm="api"'
        assert (await client.get("/api/open/", headers=bearer(ann))).status_code == 200
        who = await client.get("/api/open/who/", headers=bearer(ann))
        assert who.json()["anonymous"] is False and who.json()["auth"]["sub"] == str(ann.pk)


def test_bad_class_settings_are_refused() -> None:
    with pytest.raises(ConfigurationError, match="must be a list"):
        aksara.configure(PERMISSIONS="aksara.api.permissions.AllowAny")
    with pytest.raises(ConfigurationError, match="give classes or dotted paths"):
        aksara.configure(AUTHENTICATION=[42])
    aksara.configure(PERMISSIONS=["aksara.api.permissions.Nope"])
    with pytest.raises(ConfigurationError, match="cannot be imported"):
        is_guarded(Open, {})


def test_authentication_classes_describe_their_openapi_scheme() -> None:
    assert TokenAuthentication().openapi_security_scheme() == (
        "tokenAuth",
        {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
    )
    assert BasicAuthentication().openapi_security_scheme() == (
        "basicAuth",
        {"type": "http", "scheme": "basic"},
    )
    name, scheme = SessionAuthentication().openapi_security_scheme()
    assert (name, scheme["in"], scheme["name"]) == ("sessionAuth", "cookie", "aksara_session")
