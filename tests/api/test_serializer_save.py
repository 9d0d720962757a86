"""Validation that reads the database (foreign keys that exist, unique fields and
unique_together, one query each at most) and saving through ModelSerializer: create,
update, partial update, many-to-many links, refused nested writes and races on unique
values, on both databases."""

from __future__ import annotations

from typing import Any

from aksara.api import serializers
from aksara.db import Database
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
