"""Write endpoints on both databases: create, update, partial update and destroy through a
ModelViewSet; bodies that are not JSON, not objects or not valid are a 400 with nothing
written; read-only fields and unknown keys are ignored; writes run in one transaction."""

from __future__ import annotations

from typing import Any

import httpx
from starlette.requests import Request

import aksara
from aksara import Aksara, Count
from aksara.api import ModelSerializer, ModelViewSet, Response, Router, action, serializers
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post, User


class PostWriteSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "content", "author", "is_published", "view_count"]
        read_only_fields = ["view_count"]


class PostSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name", read_only=True)
    comment_count = serializers.Integer(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author", "author_name", "comment_count", "created_at"]


class PostViewSet(ModelViewSet):
    queryset = Post.objects.all()
    serializer_class = PostWriteSerializer


class AnnotatedViewSet(ModelViewSet):
    serializer_class = PostSerializer

    def get_queryset(self) -> Any:
        return Post.objects.annotate(comment_count=Count("comments"))

    def perform_create(self, serializer: Any) -> Any:
        # Sync, as DRF code is written: the coroutine it returns is awaited.
        return serializer.save(view_count=7)


class FailingViewSet(ModelViewSet):
    queryset = Post.objects.all()
    serializer_class = PostWriteSerializer

    async def perform_create(self, serializer: Any) -> None:
        await serializer.save()
        raise RuntimeError("after the insert")

    @action(detail=True, methods=["post"])
    async def publish(self, request: Request, pk: str) -> Response:
        post = await self.get_object()
        post.is_published = True
        await post.save()
        return Response({"published": post.id})


router = Router()
router.register("posts", PostViewSet)
router.register("annotated", AnnotatedViewSet, basename="annotated")
router.register("failing", FailingViewSet, basename="failing")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


async def author() -> User:
    return await User.objects.create(name="Ann", email="ann@example.com")


async def test_create_is_a_201_with_the_saved_object(db: Database) -> None:
    user = await author()
    async with client() as http:
        response = await http.post(
            "/api/posts/", json={"title": "Hello", "slug": "hello", "author": user.id}
        )
    assert response.status_code == 201
    assert "location" not in response.headers
    post = await Post.objects.get(slug="hello")
    assert response.json() == {
        "id": post.id,
        "title": "Hello",
        "slug": "hello",
        "content": "",
        "author": user.id,
        "is_published": False,
        "view_count": 0,
    }


async def test_mass_assignment_is_ignored(db: Database) -> None:
    user = await author()
    body = {
        "id": 999,
        "title": "T",
        "slug": "t",
        "author": user.id,
        "view_count": 5000,
        "created_at": "1999-01-01T00:00:00Z",
        "is_admin": True,
    }
    async with client() as http:
        response = await http.post("/api/posts/", json=body)
    assert response.status_code == 201
    post = await Post.objects.get(slug="t")
    assert post.id != 999 and post.view_count == 0 and post.created_at.year != 1999
    assert response.json()["id"] == post.id


async def test_create_renders_relations_and_annotations_read_again(db: Database) -> None:
    user = await author()
    async with client() as http:
        response = await http.post(
            "/api/annotated/", json={"title": "A", "slug": "a", "author": user.id}
        )
    assert response.status_code == 201
    body = response.json()
    assert body["author_name"] == "Ann" and body["comment_count"] == 0
    assert (await Post.objects.get(pk=body["id"])).view_count == 7


async def test_body_not_json_not_an_object_or_invalid_is_a_400_writing_nothing(
    db: Database,
) -> None:
    user = await author()
    async with client() as http:
        broken = await http.post(
            "/api/posts/", content=b'{"title": ', headers={"content-type": "application/json"}
        )
        assert broken.status_code == 400
        assert broken.json()["detail"].startswith("JSON parse error")
        listed = await http.post("/api/posts/", json=[1, 2])
        assert listed.status_code == 400
        assert listed.json() == {
            "non_field_errors": ["Invalid data. Expected a dictionary, but got list."]
        }
        invalid = await http.post(
            "/api/posts/", json={"title": "x" * 201, "author": 12345, "is_published": "maybe"}
        )
        assert invalid.status_code == 400
        errors = invalid.json()
        assert set(errors) == {"title", "slug", "author", "is_published"}
        assert all(isinstance(messages, list) and messages for messages in errors.values())
        empty = await http.post("/api/posts/")
        assert empty.status_code == 400
        assert {"title", "slug", "author"} <= set(empty.json())
        assert (await http.post("/api/posts/", data={"title": "form"})).status_code == 415
        aksara.configure(MAX_BODY_BYTES=50)
        large = {"title": "x" * 100, "slug": "s", "author": user.id}
        assert (await http.post("/api/posts/", json=large)).status_code == 413
    assert await Post.objects.count() == 0


async def test_update_partial_update_and_destroy(db: Database) -> None:
    user = await author()
    post = await Post.objects.create(title="Old", slug="old", author=user)
    async with client() as http:
        put = await http.put(
            f"/api/posts/{post.id}/", json={"title": "New", "slug": "new", "author": user.id}
        )
        assert put.status_code == 200
        assert put.json()["title"] == "New" and put.json()["slug"] == "new"
        incomplete = await http.put(f"/api/posts/{post.id}/", json={"title": "Only"})
        assert incomplete.status_code == 400
        assert "slug" in incomplete.json() and "author" in incomplete.json()
        patch = await http.patch(f"/api/posts/{post.id}/", json={"is_published": True})
        assert patch.status_code == 200
        assert patch.json()["is_published"] is True and patch.json()["title"] == "New"
        stored = await Post.objects.get(pk=post.id)
        assert (stored.title, stored.slug, stored.is_published) == ("New", "new", True)
        assert (await http.patch("/api/posts/999/", json={"title": "x"})).status_code == 404
        deleted = await http.delete(f"/api/posts/{post.id}/")
        assert deleted.status_code == 204
        assert deleted.content == b""
        assert not await Post.objects.filter(pk=post.id).exists()
        assert (await http.delete(f"/api/posts/{post.id}/")).status_code == 404


async def test_a_failing_write_is_rolled_back(db: Database) -> None:
    user = await author()
    async with client() as http:
        response = await http.post(
            "/api/failing/", json={"title": "T", "slug": "t", "author": user.id}
        )
    assert response.status_code == 500
    assert await Post.objects.count() == 0


async def test_detail_action_loads_the_whole_object_for_a_write(db: Database) -> None:
    user = await author()
    post = await Post.objects.create(title="Draft", slug="draft", author=user)
    async with client() as http, capture_queries() as queries:
        response = await http.post(f"/api/failing/{post.id}/publish/")
    assert response.json() == {"published": post.id}
    assert (await Post.objects.get(pk=post.id)).is_published is True
    assert len(queries) == 2
