"""What create renders: a serializer reading only its model's columns, declared fields
included, renders the saved object without reading it again; one reading anything else
(a method field, a relation) reads the row again first."""

from __future__ import annotations

from typing import Any

import httpx

from aksara import Aksara
from aksara.api import ModelSerializer, ModelViewSet, Router, serializers
from aksara.db import Database
from aksara.debug import capture_queries
from examples.blog.models import Post, User


class DeclaredColumnsSerializer(ModelSerializer):
    title = serializers.String(min_length=1, max_length=200)
    headline = serializers.String(source="title", read_only=True)

    class Meta:
        model = Post
        fields = ["id", "title", "headline", "slug", "author", "view_count"]
        read_only_fields = ["view_count"]


class MethodFieldSerializer(ModelSerializer):
    shout = serializers.SerializerMethodField()

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author", "shout"]

    def get_shout(self, obj: Any) -> str:
        return obj.title.upper()


class DeclaredViewSet(ModelViewSet):
    queryset = Post.objects.all()
    serializer_class = DeclaredColumnsSerializer


class MethodViewSet(ModelViewSet):
    queryset = Post.objects.all()
    serializer_class = MethodFieldSerializer


router = Router()
router.register("declared", DeclaredViewSet, basename="declared")
router.register("method", MethodViewSet, basename="method")
APP = Aksara()
APP.include_router(router)


def client() -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=APP), base_url="http://testserver")


def selects_of_posts(queries: Any) -> list[str]:
    return [q.sql for q in queries if q.sql.startswith("SELECT") and '"posts"' in q.sql]


async def test_declared_column_fields_render_the_saved_object(db: Database) -> None:
    user = await User.objects.create(name="Ann", email="ann@example.com")
    async with client() as http, capture_queries() as queries:
        response = await http.post(
            "/api/declared/", json={"title": "Hello", "slug": "hello", "author": user.id}
        )
    assert response.status_code == 201
    post = await Post.objects.get(slug="hello")
    assert response.json() == {
        "id": post.id,
        "title": "Hello",
        "headline": "Hello",
        "slug": "hello",
        "author": user.id,
        "view_count": 0,
    }
    assert selects_of_posts(queries) == []


async def test_a_method_field_reads_the_row_again(db: Database) -> None:
    user = await User.objects.create(name="Ann", email="ann@example.com")
    async with client() as http, capture_queries() as queries:
        response = await http.post(
            "/api/method/", json={"title": "Hi", "slug": "hi", "author": user.id}
        )
    assert response.status_code == 201
    assert response.json()["shout"] == "HI"
    assert len(selects_of_posts(queries)) == 1
