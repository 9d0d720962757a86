"""Validation that reads the database (foreign keys that exist, unique fields and
unique_together, one query each at most) and saving through ModelSerializer: create,
update, partial update, many-to-many links, refused nested writes and races on unique
values, on both databases."""

from __future__ import annotations

from typing import Any

import pytest

import aksara
from aksara.api import ValidationFailed, serializers
from aksara.api.serializers.writes import SerializerUsageError
from aksara.db import Database
from aksara.debug import capture_queries
from tests.api.input_models import Essay, Topic, Writer


class EssaySerializer(serializers.ModelSerializer):
    class Meta:
        model = Essay
        fields = ["id", "title", "slug", "body", "writer", "topics", "view_count", "created_at"]
        read_only_fields = ["view_count"]


class WriterSerializer(serializers.ModelSerializer):
    class Meta:
        model = Writer
        fields = ["id", "name", "email"]


class EssayWithWriter(serializers.ModelSerializer):
    writer = WriterSerializer()

    class Meta:
        model = Essay
        fields = ["title", "slug", "writer"]


async def seed() -> tuple[Writer, list[Topic]]:
    writer = await Writer.objects.create(name="Ann", email="ann@example.com")
    topics = [await Topic.objects.create(name=name) for name in ("db", "web", "ops")]
    return writer, topics


def body(**values: Any) -> dict[str, Any]:
    return {"title": "First", "slug": "first", "writer": 1, **values}


async def test_create_saves_the_row_and_its_links(db: Database) -> None:
    writer, topics = await seed()
    serializer = EssaySerializer(data=body(topics=[topics[0].pk, topics[2].pk], body="x"))
    assert await serializer.is_valid(), serializer.errors
    essay = await serializer.save()
    assert serializer.instance is essay and essay.pk is not None
    fresh = await Essay.objects.get(pk=essay.pk)
    assert (fresh.title, fresh.slug, fresh.writer_id, fresh.body) == (
        "First",
        "first",
        writer.pk,
        "x",
    )
    linked = await fresh.topics.all()
    assert sorted(topic.name for topic in linked) == ["db", "ops"]


async def test_foreign_keys_and_unique_values_cost_one_query_each(db: Database) -> None:
    await seed()
    data = body(topics=[1, 2, 3, 2])
    serializer = EssaySerializer(data=data)
    async with capture_queries() as queries:
        assert await serializer.is_valid(), serializer.errors
    # writer exists, topics exist, slug free, (writer, title) free.
    assert len(queries) == 4
    assert serializer.validated_data["writer_id"] == 1
    assert serializer.validated_data["topics"] == [1, 2, 3, 2]


async def test_missing_related_rows_are_field_errors(db: Database) -> None:
    await seed()
    serializer = EssaySerializer(data=body(writer=99, topics=[1, 7, 8]))
    assert not await serializer.is_valid()
    assert serializer.errors == {
        "writer": ['Invalid pk "99" - object does not exist.'],
        "topics": [
            'Invalid pk "7" - object does not exist.',
            'Invalid pk "8" - object does not exist.',
        ],
    }
    huge = 2**70
    serializer = EssaySerializer(data=body(writer=huge, topics=[-(2**64)]))
    async with capture_queries() as queries:
        assert not await serializer.is_valid()
    assert serializer.errors == {
        "writer": [f'Invalid pk "{huge}" - object does not exist.'],
        "topics": [f'Invalid pk "{-(2**64)}" - object does not exist.'],
    }
    # A key no column holds never reaches the database: the one query is the slug's.
    assert len(queries) == 1 and "slug" in queries[0].sql
    serializer = EssaySerializer(data=body(writer="1", topics=["2"]))
    assert await serializer.is_valid(), serializer.errors
    assert serializer.validated_data["writer_id"] == 1
    assert serializer.validated_data["topics"] == [2]
    serializer = EssaySerializer(data=body(writer="abc", topics=3))
    assert not await serializer.is_valid()
    assert serializer.errors == {
        "writer": ["Incorrect type. Expected pk value, received str."],
        "topics": ['Expected a list of items but got type "int".'],
    }


async def test_unique_values_already_taken(db: Database) -> None:
    await seed()
    first = EssaySerializer(data=body())
    assert await first.is_valid()
    await first.save()
    second = EssaySerializer(data=body(slug="first", title="Second"))
    assert not await second.is_valid()
    assert second.errors == {"slug": ["essay with this slug already exists."]}
    together = EssaySerializer(data=body(slug="other"))
    assert not await together.is_valid()
    assert together.errors == {
        "non_field_errors": ["The fields writer, title must make a unique set."]
    }
    with pytest.raises(ValidationFailed):
        await EssaySerializer(data=body()).is_valid(raise_exception=True)


async def test_an_update_does_not_collide_with_itself(db: Database) -> None:
    await seed()
    created = EssaySerializer(data=body())
    assert await created.is_valid()
    essay = await created.save()
    same = EssaySerializer(essay, data=body(body="changed"))
    assert await same.is_valid(), same.errors
    await same.save()
    other = EssaySerializer(data=body(slug="second", title="Second"))
    assert await other.is_valid()
    second = await other.save()
    clash = EssaySerializer(second, data={"slug": "first"}, partial=True)
    assert not await clash.is_valid()
    assert clash.errors == {"slug": ["essay with this slug already exists."]}
    pair = EssaySerializer(second, data={"title": "First"}, partial=True)
    assert not await pair.is_valid()
    assert pair.errors == {"non_field_errors": ["The fields writer, title must make a unique set."]}


async def test_update_and_partial_update(db: Database) -> None:
    _, topics = await seed()
    other = await Writer.objects.create(name="Bob", email="bob@example.com")
    created = EssaySerializer(data=body(topics=[topics[0].pk]))
    assert await created.is_valid()
    essay = await created.save()
    edited_before = essay.edited_at
    full = EssaySerializer(essay, data=body(title="Renamed", writer=other.pk, topics=[3]))
    assert await full.is_valid(), full.errors
    assert await full.save() is essay
    fresh = await Essay.objects.get(pk=essay.pk)
    assert (fresh.title, fresh.writer_id) == ("Renamed", other.pk)
    assert fresh.edited_at >= edited_before
    assert [topic.pk for topic in await fresh.topics.all()] == [3]
    partial = EssaySerializer(fresh, data=b'{"body": "new body"}', partial=True)
    async with capture_queries() as queries:
        assert await partial.is_valid()
        await partial.save()
    assert len(queries) == 1  # the UPDATE: no check for keys not given
    assert "UPDATE" in queries[0].sql
    again = await Essay.objects.get(pk=essay.pk)
    assert (again.title, again.body, again.slug) == ("Renamed", "new body", "first")
    assert [topic.pk for topic in await again.topics.all()] == [3]


async def test_mass_assignment_of_read_only_fields_is_impossible(db: Database) -> None:
    await seed()
    data = body(id=500, view_count=1_000_000, created_at="2000-01-01T00:00:00Z")
    serializer = EssaySerializer(data=data)
    assert await serializer.is_valid()
    assert set(serializer.validated_data) == {"title", "slug", "writer_id", "body"} - {"body"}
    essay = await serializer.save()
    fresh = await Essay.objects.get(pk=essay.pk)
    assert fresh.pk == 1 and fresh.view_count == 0
    assert fresh.created_at.year > 2000
    update = EssaySerializer(fresh, data={"view_count": 9, "id": 7, "title": "T"}, partial=True)
    assert await update.is_valid()
    await update.save()
    again = await Essay.objects.get(pk=1)
    assert (again.view_count, again.title) == (0, "T")


async def test_nested_writes_are_refused_unless_create_is_overridden(db: Database) -> None:
    data = {"title": "t", "slug": "s", "writer": {"name": "Ann", "email": "a@b.co"}}
    serializer = EssayWithWriter(data=data)
    assert await serializer.is_valid(), serializer.errors
    with pytest.raises(SerializerUsageError, match="writable nested fields"):
        await serializer.save()

    class Writing(EssayWithWriter):
        async def create(self, validated_data: dict[str, Any]) -> Essay:
            writer = await Writer.objects.create(**validated_data.pop("writer"))
            return await Essay.objects.create(writer=writer, **validated_data)

    custom = Writing(data=data)
    assert await custom.is_valid()
    essay = await custom.save()
    assert (await Essay.objects.get(pk=essay.pk)).writer_id == (await Writer.objects.get()).pk


async def test_save_needs_valid_data(db: Database) -> None:
    serializer = EssaySerializer(data=body())
    with pytest.raises(SerializerUsageError, match="is_valid"):
        await serializer.save()
    invalid = EssaySerializer(data={})
    assert not await invalid.is_valid()
    with pytest.raises(SerializerUsageError, match="invalid data"):
        await invalid.save()


async def test_save_takes_extra_values(db: Database) -> None:
    writer, _ = await seed()
    serializer = EssaySerializer(data=body(writer=None) | {"writer": writer.pk})
    assert await serializer.is_valid()
    essay = await serializer.save(view_count=5)
    assert (await Essay.objects.get(pk=essay.pk)).view_count == 5


async def test_a_unique_value_taken_after_the_check_is_a_validation_error(db: Database) -> None:
    await seed()
    serializer = EssaySerializer(data=body())
    assert await serializer.is_valid()
    await Essay.objects.create(title="Other", slug="first", writer_id=1)  # a concurrent write
    with pytest.raises(ValidationFailed) as caught:
        async with aksara.atomic():
            await serializer.save()
    assert caught.value.detail == {"slug": ["essay with this slug already exists."]}
    assert await Essay.objects.count() == 1
    pair = EssaySerializer(data=body(slug="third", title="Third"))
    assert await pair.is_valid()
    await Essay.objects.create(title="Third", slug="third-b", writer_id=1)
    with pytest.raises(ValidationFailed) as caught:
        await pair.save()
    assert caught.value.detail == {
        "non_field_errors": ["The fields writer, title must make a unique set."]
    }
    racing = EssaySerializer(data=body(slug="fourth", title="Fourth"))
    assert await racing.is_valid()
    await Writer.objects.filter(pk=1).delete()  # the writer went away meanwhile
    with pytest.raises(ValidationFailed) as caught:
        await racing.save()
    assert caught.value.detail == {"writer": ['Invalid pk "1" - object does not exist.']}


async def test_a_serializer_without_database_fields_never_queries(db: Database) -> None:
    class Plain(serializers.ModelSerializer):
        class Meta:
            model = Essay
            fields = ["title", "body", "view_count", "price", "published_at"]

    async with capture_queries() as queries:
        serializer = Plain(data=b'{"title": "t", "price": "1.5", "published_at": null}')
        assert await serializer.is_valid(), serializer.errors
    assert len(queries) == 0
    assert serializer.validated_data["price"] is not None


async def test_the_blog_post_cannot_set_its_read_only_fields(db: Database) -> None:
    from examples.blog.models import Post, User

    class PostSerializer(serializers.ModelSerializer):
        class Meta:
            model = Post
            fields = ["id", "title", "slug", "content", "author", "view_count", "created_at"]
            read_only_fields = ["view_count"]

    author = await User.objects.create(name="Ann", email="ann@example.com")
    raw = (
        b'{"id": 42, "title": "Hi", "slug": "hi", "author": %d, "view_count": 99,'
        b' "created_at": "1999-01-01T00:00:00Z"}' % author.pk
    )
    serializer = PostSerializer(data=raw)
    assert await serializer.is_valid(), serializer.errors
    post = await serializer.save()
    fresh = await Post.objects.get(pk=post.pk)
    assert (fresh.pk, fresh.view_count) == (1, 0)
    assert fresh.created_at.year >= 2026


class Batch(serializers.Serializer):
    essays = EssaySerializer(many=True)


async def test_nested_serializers_check_the_database_once_per_field(db: Database) -> None:
    await seed()
    created = EssaySerializer(data=body())
    assert await created.is_valid()
    await created.save()
    items = [
        body(slug="a", title="A"),
        body(slug="first", title="B", writer=5),
        body(slug="c", title="C", topics=[1, 9]),
    ]
    serializer = Batch(data={"essays": items})
    async with capture_queries() as queries:
        assert not await serializer.is_valid()
    assert len(queries) == 3  # writers, topics, slugs: one query each for the three essays
    assert serializer.errors == {
        "essays": [
            {},
            {
                "writer": ['Invalid pk "5" - object does not exist.'],
                "slug": ["essay with this slug already exists."],
            },
            {"topics": ['Invalid pk "9" - object does not exist.']},
        ]
    }
    # The database is asked only once the nested objects pass their field checks.
    typo = Batch(data={"essays": [*items, body(slug="d", title="D", writer="x")]})
    async with capture_queries() as queries:
        assert not await typo.is_valid()
    assert len(queries) == 0
    assert typo.errors == {
        "essays": [{}, {}, {}, {"writer": ["Incorrect type. Expected pk value, received str."]}]
    }
    nested = EssayWithWriter(
        data={"title": "t", "slug": "s", "writer": {"name": "A", "email": "ann@example.com"}}
    )
    assert not await nested.is_valid()
    assert nested.errors == {"writer": {"email": ["writer with this email already exists."]}}
