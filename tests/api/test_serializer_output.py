"""Compiled serializer output on both databases: every field type, nested serializers (one and
many), dotted sources with None on the way, primary keys, annotations and aggregates, method
fields (sync and async), the instance API, and tracebacks into the generated code."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
import traceback
import uuid
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import pytest

from aksara import Count, Prefetch
from aksara.api import serializers
from aksara.api.serializers import ModelSerializer, Serializer, encode
from aksara.db import Database
from aksara.orm import RelationNotLoadedError
from examples.blog.models import Comment, Post, User
from tests.models import Category, Kitchen
from tests.orm.relation_models import (
    Article,
    Keyword,
    Profile,
    naive_authors,
    naive_comments,
    seed_blog,
)


class KitchenSerializer(ModelSerializer):
    class Meta:
        model = Kitchen
        fields = "__all__"


class UserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name"]


class CommentSerializer(ModelSerializer):
    author = UserSerializer()

    class Meta:
        model = Comment
        fields = ["id", "body", "author"]


class PostSerializer(ModelSerializer):
    author = UserSerializer()
    comments = CommentSerializer(many=True)

    class Meta:
        model = Post
        fields = ["id", "title", "author", "comments"]


class PostKeys(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "author", "comments"]


class CategorySerializer(ModelSerializer):
    parent_name = serializers.String(source="parent.name", allow_null=True)
    grandparent_name = serializers.String(source="parent.parent.name", allow_null=True)
    grandparent = serializers.PrimaryKeyRelated(Category, source="parent.parent")

    class Meta:
        model = Category
        fields = ["id", "name", "parent", "parent_name", "grandparent_name", "grandparent"]


def decoded(value: Any) -> Any:
    return json.loads(encode(value))


async def test_every_model_field_type(db: Database) -> None:
    moment = dt.datetime(2024, 2, 29, 13, 45, 7, 123456, tzinfo=dt.UTC)
    token = uuid.UUID("12345678-1234-5678-1234-567812345678")
    made = await Kitchen.objects.create(
        label="pan",
        notes=None,
        small=-3,
        big=2**40,
        ratio=0.25,
        price=Decimal("12.50"),
        flag=True,
        moment=moment,
        day=dt.date(2024, 3, 1),
        token=token,
        data={"a": [1, 2, {"b": None}]},
    )
    row = await Kitchen.objects.get(pk=made.pk)
    data = decoded(await KitchenSerializer.compile().one(row))
    touched = data.pop("touched_at")
    assert data == {
        "id": made.pk,
        "label": "pan",
        "notes": None,
        "small": -3,
        "big": 2**40,
        "ratio": 0.25,
        "price": "12.50",
        "flag": True,
        "moment": "2024-02-29T13:45:07.123456Z",
        "day": "2024-03-01",
        "token": "12345678-1234-5678-1234-567812345678",
        "data": {"a": [1, 2, {"b": None}]},
    }
    assert dt.datetime.fromisoformat(touched) == row.touched_at


async def test_declared_field_types_on_plain_objects() -> None:
    class Everything(Serializer):
        text = serializers.String()
        mail = serializers.Email()
        number = serializers.Integer()
        real = serializers.Float()
        money = serializers.Decimal()
        yes = serializers.Boolean()
        when = serializers.DateTime()
        day = serializers.Date()
        key = serializers.UUID()
        blob = serializers.JSON()
        size = serializers.Choice(["s", ("m", "Medium")])
        tags = serializers.List(serializers.String())
        itself = serializers.JSON(source="*")
        renamed = serializers.Integer(source="number")

    obj = SimpleNamespace(
        text="t",
        mail="a@b.org",
        number=4,
        real=1.5,
        money=Decimal("0.10"),
        yes=False,
        when=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone(dt.timedelta(hours=7))),
        day=dt.date(2024, 1, 2),
        key=uuid.UUID(int=1),
        blob=[{"x": 1}],
        size="m",
        tags=("a", "b"),
    )

    data = decoded(
        await Everything.compile([name for name in Everything._fields if name != "itself"]).one(obj)
    )
    assert data == {
        "text": "t",
        "mail": "a@b.org",
        "number": 4,
        "real": 1.5,
        "money": "0.10",
        "yes": False,
        "when": "2024-01-02T03:04:05+07:00",
        "day": "2024-01-02",
        "key": "00000000-0000-0000-0000-000000000001",
        "blob": [{"x": 1}],
        "size": "m",
        "tags": ["a", "b"],
        "renamed": 4,
    }
    assert decoded(await Everything.compile(["itself"]).one(3)) == {"itself": 3}


async def test_output_keys_that_are_not_identifiers() -> None:
    class Odd(Serializer):
        pass

    Odd._fields = {}
    odd: list[tuple[str, serializers.Field]] = [
        (name, serializers.Integer(source="n"))
        for name in ("first-name", "class", "__x__", "field_0")
    ]
    odd.append(("the user", UserSerializer(source="user")))
    for name, field in odd:
        field.bind(name, Odd)
        Odd._fields[name] = field
    data = encode(
        await Odd.compile().one(SimpleNamespace(n=1, user=SimpleNamespace(id=2, name="a")))
    )
    assert (
        data == b'{"first-name":1,"class":1,"__x__":1,"field_0":1,"the user":{"id":2,"name":"a"}}'
    )

    class Broken(Serializer):
        pass

    Broken._fields = {}
    field = UserSerializer(source="user")
    field.bind("a\nb", Broken)
    Broken._fields["a\nb"] = field
    with pytest.raises(ValueError, match="control characters"):
        Broken.compile()  # refused by msgspec before any code is generated


async def test_nested_one_and_many(db: Database) -> None:
    await seed_blog(12)
    authors = await naive_authors()
    comments = await naive_comments()
    posts = (
        await Post.objects.select_related("author")
        .prefetch_related("comments__author")
        .order_by("id")
    )
    rendered = decoded(await PostSerializer.compile().many(posts, {}))
    assert [item["id"] for item in rendered] == [post.pk for post in posts]
    for item in rendered:
        assert (item["author"]["id"], item["author"]["name"]) == authors[item["id"]]
        got = [
            (c["id"], c["body"], c["author"]["id"], c["author"]["name"]) for c in item["comments"]
        ]
        assert sorted(got) == comments[item["id"]]
    assert any(not item["comments"] for item in rendered)
    assert any(len(item["comments"]) == 3 for item in rendered)


async def test_nested_narrowed_by_dotted_selection(db: Database) -> None:
    await seed_blog(3)
    posts = (
        await Post.objects.select_related("author")
        .prefetch_related("comments__author")
        .order_by("id")
    )
    compiled = PostSerializer.compile(["title", "author.name", "comments.author.id"])
    rendered = decoded(await compiled.many(posts))
    assert rendered[0] == {
        "title": "post 000",
        "author": {"name": posts[0].author.name},
        "comments": [{"author": {"id": c.author.pk}} for c in posts[0].comments],
    }
    assert all(set(item) == {"title", "author", "comments"} for item in rendered)


async def test_unloaded_relations_raise_instead_of_querying(db: Database) -> None:
    await seed_blog(2)
    posts = await Post.objects.order_by("id")
    with pytest.raises(RelationNotLoadedError, match="select_related"):
        await PostSerializer.compile(["author"]).many(posts)
    with pytest.raises(RelationNotLoadedError, match="prefetch"):
        await PostSerializer.compile(["comments"]).many(posts)


async def test_dotted_sources_give_null_when_the_path_meets_none(db: Database) -> None:
    root = await Category.objects.create(name="root")
    child = await Category.objects.create(name="child", parent=root)
    leaf = await Category.objects.create(name="leaf", parent=child)
    rows = await Category.objects.select_related("parent__parent").order_by("id")
    rendered = decoded(await CategorySerializer.compile().many(rows))
    assert rendered == [
        {
            "id": root.pk,
            "name": "root",
            "parent": None,
            "parent_name": None,
            "grandparent_name": None,
            "grandparent": None,
        },
        {
            "id": child.pk,
            "name": "child",
            "parent": root.pk,
            "parent_name": "root",
            "grandparent_name": None,
            "grandparent": None,
        },
        {
            "id": leaf.pk,
            "name": "leaf",
            "parent": child.pk,
            "parent_name": "child",
            "grandparent_name": "root",
            "grandparent": root.pk,
        },
    ]
    source = CategorySerializer.compile().source
    assert (
        source.count("o.parent\n") + source.count("o.parent ") <= 1
    )  # the prefix is read once a row


async def test_primary_keys_of_forward_reverse_and_many_to_many(db: Database) -> None:
    seeded = await seed_blog(4)
    posts = await Post.objects.prefetch_related("comments").order_by("id")
    rendered = decoded(await PostKeys.compile().many(posts))
    assert rendered == [
        {
            "id": post.pk,
            "author": post.author_id,
            "comments": sorted(c.pk for c in seeded.comments if c.post_id == post.pk),
        }
        for post in posts
    ]
    assert "o.author_id" in PostKeys.compile().source  # the key column, no relation read

    class ArticleSerializer(ModelSerializer):
        class Meta:
            model = Article
            fields = ["id", "title", "tags"]

    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(3)])
    article = await Article.objects.create(title="a")
    await article.tags.add(words[0], words[2])
    bare = await Article.objects.create(title="b")
    rows = await Article.objects.prefetch_related("tags").order_by("id")
    assert decoded(await ArticleSerializer.compile().many(rows)) == [
        {"id": article.pk, "title": "a", "tags": sorted([words[0].pk, words[2].pk])},
        {"id": bare.pk, "title": "b", "tags": []},
    ]


async def test_annotations_and_aggregate_fields_read_the_attribute_of_their_name(
    db: Database,
) -> None:
    class Counted(ModelSerializer):
        author_name = serializers.String(source="author.name")
        comment_count = serializers.Integer()
        total = serializers.Count("comments")

        class Meta:
            model = Post
            fields = ["id", "author_name", "comment_count", "total"]

    await seed_blog(8)
    expected = await naive_comments()
    authors = await naive_authors()
    rows = await (
        Post.objects.select_related("author")
        .annotate(comment_count=Count("comments"), total=Count("comments"))
        .order_by("id")
    )
    assert decoded(await Counted.compile().many(rows)) == [
        {
            "id": pk,
            "author_name": authors[pk][1],
            "comment_count": len(expected[pk]),
            "total": len(expected[pk]),
        }
        for pk in sorted(expected)
    ]


async def test_depth_nests_related_model_serializers(db: Database) -> None:
    class Deep(ModelSerializer):
        class Meta:
            model = Comment
            fields = ["id", "post", "author"]
            depth = 1

    seeded = await seed_blog(1)
    rows = await Comment.objects.select_related("post", "author").order_by("id")
    data = decoded(await Deep.compile(["id", "post.title", "author.email"]).many(rows))
    assert data == [
        {"id": c.pk, "post": {"title": "post 000"}, "author": {"email": c.author.email}}
        for c in rows
    ]
    assert len(data) == len(seeded.comments) == 2


class WithMethods(ModelSerializer):
    shout = serializers.SerializerMethodField()
    viewer = serializers.SerializerMethodField(method_name="who_looks")
    slow_title = serializers.SerializerMethodField()
    comments = CommentSerializer(many=True)

    class Meta:
        model = Post
        fields = ["id", "shout", "viewer", "slow_title", "comments"]

    def get_shout(self, obj: Post) -> str:
        return obj.title.upper()

    def who_looks(self, obj: Post) -> Any:
        return self.context.get("viewer")

    async def get_slow_title(self, obj: Post) -> str:
        await asyncio.sleep(0)
        return f"{obj.title}!{self.context['viewer']}"


class CommentWithMethods(ModelSerializer):
    author_name = serializers.SerializerMethodField()

    class Meta:
        model = Comment
        fields = ["id", "author_name"]

    async def get_author_name(self, obj: Comment) -> str:
        author = await obj.author
        return f"{author.name} on {self.context['viewer']}"


class PostWithNestedAsync(ModelSerializer):
    comments = CommentWithMethods(many=True)
    first = CommentWithMethods(source="latest", allow_null=True)

    class Meta:
        model = Post
        fields = ["id", "comments", "first"]


async def test_method_fields_sync_and_async_see_the_context(db: Database) -> None:
    await seed_blog(5)
    posts = await Post.objects.prefetch_related("comments__author").order_by("id")
    compiled = WithMethods.compile()
    assert compiled.is_async
    rendered = decoded(await compiled.many(posts, {"viewer": "ann"}))
    assert [(r["shout"], r["viewer"], r["slow_title"]) for r in rendered] == [
        (p.title.upper(), "ann", f"{p.title}!ann") for p in posts
    ]
    narrowed = WithMethods.compile(["shout", "viewer"])
    assert not narrowed.is_async
    assert decoded(await narrowed.one(posts[0], {"viewer": 1})) == {
        "shout": "POST 000",
        "viewer": 1,
    }


async def test_async_method_fields_of_nested_serializers_line_up_with_their_rows(
    db: Database,
) -> None:
    await seed_blog(9)
    posts = await Post.objects.relation_loading("peers").prefetch_related("comments").order_by("id")
    for post in posts:
        rows = list(post.comments)
        post.latest = rows[-1] if rows else None
    compiled = PostWithNestedAsync.compile()
    assert compiled.is_async and not PostWithNestedAsync.compile(["id"]).is_async
    comments = await naive_comments()
    rendered = decoded(await compiled.many(posts, {"viewer": "v"}))
    for item in rendered:
        expected = [
            {"id": pk, "author_name": f"{name} on v"} for pk, _, _, name in comments[item["id"]]
        ]
        assert sorted(item["comments"], key=lambda c: c["id"]) == expected
        assert item["first"] == (expected[-1] if expected else None)


async def test_a_failing_async_method_field_raises_and_cancels_the_others() -> None:
    started: list[int] = []
    cancelled: list[int] = []

    class Failing(Serializer):
        value = serializers.SerializerMethodField()

        async def get_value(self, obj: int) -> int:
            started.append(obj)
            if obj == 0:
                raise LookupError("no value")
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                cancelled.append(obj)
                raise
            return obj

    with pytest.raises(LookupError, match="no value"):
        await Failing.compile().many([0, 1, 2])
    await asyncio.sleep(0)
    assert sorted(started) == [0, 1, 2]
    assert sorted(cancelled) == [1, 2]


async def test_instance_api(db: Database) -> None:
    await seed_blog(3)
    posts = (
        await Post.objects.select_related("author")
        .prefetch_related("comments__author")
        .order_by("id")
    )
    expected = decoded(await PostSerializer.compile().many(posts))
    assert await PostSerializer(posts, many=True).get_data() == expected
    assert PostSerializer(posts, many=True).data == expected
    assert PostSerializer(posts[0]).data == expected[0]
    assert await PostSerializer(posts[1]).get_data() == expected[1]
    narrowed = PostSerializer(posts, many=True, fields=["id", "author.name"]).data
    assert narrowed == [{"id": p.pk, "author": {"name": p.author.name}} for p in posts]
    queryset = (
        Post.objects.select_related("author").prefetch_related("comments__author").order_by("id")
    )
    assert await PostSerializer(queryset, many=True).get_data() == expected
    with pytest.raises(TypeError, match="get_data"):
        PostSerializer(queryset, many=True).data  # noqa: B018
    assert PostSerializer(None).data == {}
    assert PostSerializer([], many=True).data == []


async def test_instance_api_with_async_methods_must_be_awaited(db: Database) -> None:
    await seed_blog(2)
    posts = await Post.objects.prefetch_related("comments__author").order_by("id")
    serializer = WithMethods(posts, many=True, context={"viewer": "x"})
    with pytest.raises(TypeError, match=r"await serializer.get_data\(\)"):
        serializer.data  # noqa: B018
    data = await serializer.get_data()
    assert [item["slow_title"] for item in data] == ["post 000!x", "post 001!x"]

    class Remembering(WithMethods):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.calls = 0

        def get_shout(self, obj: Post) -> str:
            self.calls += 1
            return "!"

    owner = Remembering(posts, many=True, fields=["shout"])
    assert owner.data == [{"shout": "!"}, {"shout": "!"}]
    assert owner.calls == 2  # the methods run on the serializer the data was asked of


async def test_a_missing_attribute_points_at_the_generated_line() -> None:
    class Broken(Serializer):
        title = serializers.String()
        missing = serializers.Integer(source="author.nothing")

    with pytest.raises(AttributeError) as raised:
        await Broken.compile().many([SimpleNamespace(title="t", author=SimpleNamespace())])
    text = "".join(traceback.format_exception(raised.value))
    assert "<aksara output" in text
    assert ".nothing" in text  # the generated source line is shown


async def test_prefetch_objects_with_narrowed_querysets_render(db: Database) -> None:
    await seed_blog(4)
    posts = await Post.objects.prefetch_related(
        Prefetch("comments", Comment.objects.select_related("author").order_by("-id"))
    ).order_by("id")
    rendered = decoded(await PostSerializer.compile(["id", "comments.id"]).many(posts))
    assert rendered == [{"id": p.pk, "comments": [{"id": c.pk} for c in p.comments]} for p in posts]
    assert any(len(item["comments"]) > 1 for item in rendered)
    for item in rendered:
        ids = [c["id"] for c in item["comments"]]
        assert ids == sorted(ids, reverse=True)


async def test_a_stale_related_instance_is_not_rendered(db: Database) -> None:
    # Setting the key column directly leaves the cached author stale: the output must not
    # show it (the relation reads as not loaded, as the ORM's descriptor says).
    await seed_blog(2)
    posts = await Post.objects.select_related("author").order_by("id")
    compiled = PostSerializer.compile(["id", "author.name"])
    assert decoded(await compiled.many(posts))[0]["author"] == {"name": posts[0].author.name}
    posts[0].author_id = posts[1].author_id
    with pytest.raises(RelationNotLoadedError):
        await compiled.many(posts)
    posts[0].author = None
    assert decoded(await compiled.many(posts))[0] == {"id": posts[0].pk, "author": None}


async def test_reverse_one_to_one_and_many_to_many_nested(db: Database) -> None:
    class ProfileSerializer(ModelSerializer):
        class Meta:
            model = Profile
            fields = ["bio"]

    class UserWithProfile(ModelSerializer):
        profile = ProfileSerializer(allow_null=True)

        class Meta:
            model = User
            fields = ["id", "profile"]

    class KeywordSerializer(ModelSerializer):
        class Meta:
            model = Keyword
            fields = ["name"]

    class ArticleWithTags(ModelSerializer):
        tags = KeywordSerializer(many=True)

        class Meta:
            model = Article
            fields = ["title", "tags"]

    ann = await User.objects.create(name="ann", email="ann@example.com")
    bob = await User.objects.create(name="bob", email="bob@example.com")
    await Profile.objects.create(user=ann, bio="hi")
    users = await User.objects.prefetch_related("profile").order_by("id")
    assert decoded(await UserWithProfile.compile().many(users)) == [
        {"id": ann.pk, "profile": {"bio": "hi"}},
        {"id": bob.pk, "profile": None},
    ]
    words = await Keyword.objects.bulk_create([Keyword(name=f"k{i}") for i in range(2)])
    article = await Article.objects.create(title="a")
    await article.tags.add(*words)
    rows = await Article.objects.prefetch_related("tags").order_by("id")
    compiled = ArticleWithTags.compile()
    rendered = decoded(await compiled.many(rows))
    assert [item["title"] for item in rendered] == ["a"]
    assert sorted(tag["name"] for tag in rendered[0]["tags"]) == ["k0", "k1"]
    await rows[0].tags.remove(words[0])  # the loaded rows are dropped: not rendered stale
    with pytest.raises(RelationNotLoadedError):
        await compiled.many(rows)
