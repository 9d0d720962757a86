"""Errors: unknown names, wrong values (refused before any statement), lengths, and the
database's constraint errors with their constraint names."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

import aksara
from aksara import (
    AksaraError,
    DatabaseError,
    FieldError,
    IntegrityError,
    ProtectedError,
    ValidationError,
)
from aksara.db import Database
from examples.blog.models import Comment, Post, User
from tests.orm.conftest import capture

# Unknown names ------------------------------------------------------------------------------------

POST_FIELDS = (
    "id",
    "title",
    "slug",
    "content",
    "metadata",
    "author",
    "is_published",
    "view_count",
    "created_at",
)


@pytest.mark.parametrize(
    "build",
    [
        lambda: Post.objects.filter(titel="x"),
        lambda: Post.objects.exclude(titel="x"),
        lambda: Post.objects.filter(aksara.Q(titel="x")),
        lambda: Post.objects.order_by("-titel"),
        lambda: Post.objects.values("titel"),
        lambda: Post.objects.values_list("titel", flat=True),
        lambda: Post.objects.only("titel"),
        lambda: Post.objects.defer("titel"),
        lambda: Post(titel="x"),
    ],
)
def test_unknown_field_names_the_model_and_the_valid_fields(build: Callable[[], Any]) -> None:
    with pytest.raises(FieldError) as error:
        build()
    message = str(error.value)
    assert "Post" in message
    assert "'titel'" in message
    assert "Did you mean 'title'?" in message
    for name in POST_FIELDS:
        assert name in message, name
    assert isinstance(error.value, AksaraError) and isinstance(error.value, AttributeError)


async def test_unknown_field_in_writes(db: Database) -> None:
    with capture() as seen:
        with pytest.raises(FieldError, match="titel"):
            await Post.objects.create(titel="x")
        with pytest.raises(FieldError, match="Valid fields"):
            await Post.objects.update(titel="x")
        with pytest.raises(FieldError, match="titel"):
            await Post.objects.aggregate(n=aksara.Count("titel"))
    assert len(seen) == 0


def test_unknown_lookup_lists_the_lookups() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(title__contain="x")
    message = str(error.value)
    assert "'title__contain'" in message
    for lookup in (
        "exact",
        "iexact",
        "contains",
        "icontains",
        "startswith",
        "in",
        "isnull",
        "range",
    ):
        assert lookup in message


def test_unknown_field_across_a_relation_names_the_related_model() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(author__nme="x")
    message = str(error.value)
    assert "User has no field 'nme'" in message
    assert "Did you mean 'name'?" in message
    for name in ("name", "email", "is_active", "last_login", "created_at"):
        assert name in message


def test_following_a_non_relation_is_refused() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(title__author__name="x")
    assert "Post.title is not a relation" in str(error.value)
    assert "author" in str(error.value)


def test_text_lookup_on_a_non_text_field() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(view_count__icontains="1")
    assert "Post.view_count" in str(error.value)
    assert "gt" in str(error.value)


def test_filter_takes_q_objects_only() -> None:
    with pytest.raises(TypeError):
        Post.objects.filter("title = 'x'")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        aksara.Q("title")  # type: ignore[arg-type]


# Wrong values: refused before any statement ----------------------------------------------------------


@pytest.mark.parametrize(
    "lookups",
    [
        {"view_count": "x"},
        {"view_count": "5"},
        {"view_count": 1.5},
        {"view_count__gt": None},
        {"view_count__in": [1, "two"]},
        {"view_count__in": 5},
        {"title__in": "abc"},
        {"view_count__range": (1,)},
        {"view_count__range": (1, "z")},
        {"is_published": "yes"},
        {"is_published": 1},
        {"title__isnull": "yes"},
        {"title__icontains": 5},
        {"title": 5},
        {"created_at__gt": "2024-01-01"},
        {"author": "ada"},
        {"author": User(name="unsaved", email="u@x")},
        {"author__name__startswith": 3},
        {"metadata": {1, 2}},
    ],
    ids=lambda lookups: repr(lookups)[:40],
)
async def test_wrong_filter_values_raise_validation_error_without_a_query(
    db: Database, lookups: dict[str, Any]
) -> None:
    with capture() as seen:
        with pytest.raises(ValidationError):
            await Post.objects.filter(**lookups)
        with pytest.raises(ValidationError):
            await Post.objects.exclude(**lookups).count()
    assert len(seen) == 0


async def test_filter_raises_as_soon_as_it_is_built(db: Database) -> None:
    with capture() as seen, pytest.raises(ValidationError) as error:
        Post.objects.filter(view_count="x")
    assert len(seen) == 0
    assert "view_count" in str(error.value)
    assert isinstance(error.value, ValueError)


@pytest.mark.parametrize(
    "values",
    [
        {"is_published": "yes"},
        {"view_count": "12"},
        {"title": None},
        {"title": "x" * 201},
        {"slug": 5},
        {"metadata": {"bad": object()}},
        {"created_at": "today"},
        {"author_id": "1"},
    ],
    ids=lambda values: repr(values)[:40],
)
async def test_wrong_create_values_raise_validation_error_without_a_query(
    db: Database, values: dict[str, Any]
) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    fields = {"title": "t", "slug": "s", "author": user, **values}
    with capture() as seen, pytest.raises(ValidationError) as error:
        await Post.objects.create(**fields)
    assert len(seen) == 0
    assert error.value.field == next(iter(values)).removesuffix("_id")
    assert await Post.objects.count() == 0


async def test_missing_required_values(db: Database) -> None:
    with capture() as seen:
        with pytest.raises(ValidationError, match=r"User\.email"):
            await User.objects.create(name="no email")
        with pytest.raises(ValidationError, match=r"Post\.author"):
            await Post.objects.create(title="t", slug="s")
    assert len(seen) == 0


async def test_max_length_on_save_and_update(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    post = await Post.objects.create(title="x" * 200, slug="s", author=user)
    with capture() as seen:
        with pytest.raises(ValidationError) as error:
            await Post.objects.create(title="x" * 201, slug="s2", author=user)
        assert error.value.field == "title"
        assert "200" in str(error.value)
        post.title = "y" * 201
        with pytest.raises(ValidationError):
            await post.save()
        with pytest.raises(ValidationError):
            await post.save(update_fields=["title"])
        with pytest.raises(ValidationError):
            await Post.objects.filter(pk=post.pk).update(title="z" * 201)
        with pytest.raises(ValidationError):
            await Post.objects.bulk_create([Post(title="w" * 201, slug="s3", author=user)])
    assert len(seen) == 0
    assert await Post.objects.values_list("title", flat=True) == ["x" * 200]


async def test_max_length_counts_characters_not_bytes(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    title = "ż" * 200
    post = await Post.objects.create(title=title, slug="s", author=user)
    assert (await Post.objects.get(pk=post.pk)).title == title
    with pytest.raises(ValidationError):
        await Post.objects.create(title=title + "ż", slug="s", author=user)


# Constraint errors ---------------------------------------------------------------------------------------


async def test_unique_violation_names_the_constraint(db: Database) -> None:
    await User.objects.create(name="a", email="a@example.com")
    with pytest.raises(IntegrityError) as error:
        await User.objects.create(name="b", email="a@example.com")
    assert error.value.constraint == "users_email_key"
    assert isinstance(error.value, DatabaseError) and isinstance(error.value, AksaraError)
    other = await User.objects.create(name="c", email="c@example.com")
    other.email = "a@example.com"
    with pytest.raises(IntegrityError) as error:
        await other.save()
    assert error.value.constraint == "users_email_key"
    with pytest.raises(IntegrityError) as error:
        await User.objects.filter(pk=other.pk).update(email="a@example.com")
    assert error.value.constraint == "users_email_key"
    assert sorted(await User.objects.values_list("email", flat=True)) == [
        "a@example.com",
        "c@example.com",
    ]


async def test_foreign_key_violation_names_the_constraint(db: Database) -> None:
    user = await User.objects.create(name="a", email="a@example.com")
    with pytest.raises(IntegrityError) as error:
        await Post.objects.create(title="t", slug="s", author_id=user.pk + 1000)
    assert error.value.constraint == "posts_author_id_fkey"
    post = await Post.objects.create(title="t", slug="s", author=user)
    post.author_id = user.pk + 1000
    with pytest.raises(IntegrityError) as error:
        await post.save()
    assert error.value.constraint == "posts_author_id_fkey"
    with pytest.raises(IntegrityError) as error:
        await Comment.objects.create(post=post, author_id=user.pk + 5, body="b")
    assert error.value.constraint == "comments_author_id_fkey"
    assert await Post.objects.values_list("author_id", flat=True) == [user.pk]


async def test_integrity_error_inside_atomic_rolls_back_the_block(db: Database) -> None:
    await User.objects.create(name="a", email="a@example.com")
    with pytest.raises(IntegrityError) as error:
        async with aksara.atomic():
            await User.objects.create(name="b", email="b@example.com")
            await User.objects.create(name="c", email="a@example.com")
    assert error.value.constraint == "users_email_key"
    assert await User.objects.values_list("email", flat=True) == ["a@example.com"]


async def test_protected_error_is_an_integrity_error() -> None:
    assert issubclass(ProtectedError, IntegrityError)
    assert issubclass(IntegrityError, DatabaseError)
    assert issubclass(aksara.ObjectDoesNotExist, AksaraError)
    assert issubclass(aksara.DeferredFieldError, AttributeError)
