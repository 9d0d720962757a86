"""Lookups registered per field class: what each field type offers, custom lookups in
filter() / Q / exclude() / annotation filters, and errors listing a field's lookups."""

from __future__ import annotations

from collections.abc import Hashable, Iterator
from typing import Any

import pytest

from aksara import Count, F, Max, Model, Q, fields
from aksara.db import Database
from aksara.exceptions import FieldError, ValidationError
from aksara.orm.expressions import CompileContext
from aksara.orm.field import Field
from aksara.orm.lookups import Comparison, Lookup
from examples.blog.models import Post, User

COMMON = ("exact", "gt", "gte", "lt", "lte", "in", "isnull", "range")
TEXT = (
    "exact",
    "iexact",
    "contains",
    "icontains",
    "startswith",
    "istartswith",
    "endswith",
    "iendswith",
    "search",
    "gt",
    "gte",
    "lt",
    "lte",
    "in",
    "isnull",
    "range",
)
EVERY = frozenset(TEXT)


class NotEqual(Comparison):
    """Different from the value (NULL stays unknown, as with the other comparisons)."""

    name = "ne"
    operator = "<>"


class Blank(Lookup):
    """``True``: the text is empty; ``False``: it is not."""

    name = "blank"

    def prepare(self, field: Field, value: Any, key: str) -> Any:
        if not isinstance(value, bool):
            raise ValidationError(f"{key}: blank takes True or False, got {value!r}.")
        return value

    def variant(self, value: Any) -> Hashable:
        return value

    def sql(
        self,
        ctx: CompileContext,
        lhs: str,
        value: Any,
        source: str,
        adapt: Any,
        secret: bool,
    ) -> str:
        return f"{lhs} = ''" if value else f"{lhs} <> ''"


class Code(fields.String):
    """A string column that offers two lookups of its own."""


Code.register_lookup(NotEqual)
Code.register_lookup(Blank)


class LookupCountry(Model):
    code = fields.String(max_length=2, primary_key=True)


class LookupBadge(Model):
    code = Code(max_length=20, null=True)
    label = fields.String(max_length=20, default="")
    country = fields.ForeignKey(LookupCountry, null=True)


def _field(model: type[Model], name: str) -> Field:
    field: Field = model._meta.get_field(name)
    return field


# What each field type offers ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("field", "offered"),
    [
        (fields.AutoField(), COMMON),
        (fields.Integer(), COMMON),
        (fields.BigInteger(), COMMON),
        (fields.Float(), COMMON),
        (fields.Decimal(max_digits=10, decimal_places=2), COMMON),
        (fields.Boolean(), COMMON),
        (fields.DateTime(), COMMON),
        (fields.Date(), COMMON),
        (fields.UUID(), COMMON),
        (fields.JSON(), COMMON),
        (fields.String(max_length=10), TEXT),
        (fields.Text(), TEXT),
        (Code(max_length=10), (*TEXT, "ne", "blank")),
    ],
    ids=lambda value: type(value).__name__ if isinstance(value, Field) else "",
)
def test_every_field_type_offers_its_lookups(field: Field, offered: tuple[str, ...]) -> None:
    assert field.lookups() == offered
    for name in offered:
        lookup = field.get_lookup(name)
        assert isinstance(lookup, Lookup) and lookup.name == name
    for name in EVERY - set(offered):
        assert field.get_lookup(name) is None


def test_a_foreign_key_offers_the_lookups_of_the_key_it_points_at() -> None:
    assert _field(Post, "author").lookups() == COMMON
    assert _field(LookupBadge, "country").lookups() == TEXT


@pytest.mark.parametrize("name", ["title", "content", "metadata", "is_published", "view_count"])
def test_filters_accept_exactly_the_registered_lookups(name: str) -> None:
    field = _field(Post, name)
    for lookup in EVERY:
        key = f"{name}__{lookup}"
        if lookup in field.lookups():
            try:
                Post.objects.filter(**{key: _sample(lookup)})
            except ValidationError as refused:  # the field's type refuses the sample value
                assert str(refused).startswith(f"{key}: "), refused
            continue
        with pytest.raises(FieldError) as error:
            Post.objects.filter(**{key: "x"})
        message = str(error.value)
        assert f"In {key!r}: Post.{name} supports the lookups {', '.join(field.lookups())}" in (
            message
        )
        assert f"not {lookup!r}" in message


def _sample(lookup: str) -> Any:
    if lookup == "in":
        return []
    if lookup == "isnull":
        return True
    if lookup == "range":
        return ("a", "b")
    return "a"


def test_registering_a_badly_named_lookup_is_refused() -> None:
    class Spaced(NotEqual):
        name = "not__equal"

    with pytest.raises(ValueError, match="not__equal"):
        Code.register_lookup(Spaced)
    assert "not__equal" not in Code(max_length=1).lookups()


# Errors name the field's lookups ------------------------------------------------------------


def test_an_unknown_lookup_lists_the_fields_lookups_and_the_closest() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(title__gtee="x")
    assert str(error.value) == (
        "In 'title__gtee': Post.title supports the lookups exact, iexact, contains, "
        "icontains, startswith, istartswith, endswith, iendswith, search, gt, gte, lt, lte, "
        "in, isnull, range; not 'gtee'. Did you mean 'gte'?"
    )


def test_a_lookup_of_other_field_types_names_them() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.filter(view_count__icontains="1")
    assert str(error.value) == (
        f"In 'view_count__icontains': Post.view_count supports the lookups {', '.join(COMMON)}; "
        "not 'icontains'. ('icontains' is a lookup of String, Text fields.)"
    )


def test_errors_list_custom_lookups_of_the_field_only() -> None:
    with pytest.raises(FieldError) as error:
        LookupBadge.objects.filter(code__nee="x")
    assert "LookupBadge.code supports the lookups" in str(error.value)
    assert ", ne, blank; not 'nee'. Did you mean 'ne'?" in str(error.value)
    with pytest.raises(FieldError) as error:
        LookupBadge.objects.filter(label__ne="x")  # a plain String: no 'ne'
    assert "ne," not in str(error.value)
    assert "not 'ne'. ('ne' is a lookup of Code fields.)" in str(error.value)


def test_annotation_filters_offer_the_lookups_of_the_result_field() -> None:
    with pytest.raises(FieldError) as error:
        Post.objects.annotate(n=Count("comments")).filter(n__icontains="1")
    assert str(error.value) == (
        f"Annotation 'n' supports the lookups {', '.join(COMMON)}; not 'icontains'. "
        "('icontains' is a lookup of String, Text fields.)"
    )
    with pytest.raises(FieldError, match="Did you mean 'gte'"):
        Post.objects.annotate(n=Count("comments")).filter(n__gtee=1)


def test_a_lookup_that_cannot_compare_with_an_expression_fails_when_built() -> None:
    with pytest.raises(FieldError, match="title__contains: lookup 'contains' cannot compare"):
        Post.objects.filter(title__contains=F("slug"))
    with pytest.raises(FieldError, match="n__in: lookup 'in' cannot compare"):
        Post.objects.annotate(n=Count("comments")).filter(n__in=F("view_count"))


# Custom lookups in queries ------------------------------------------------------------------


@pytest.fixture
def not_equal_on_counts() -> Iterator[None]:
    fields.BigInteger.register_lookup(NotEqual)
    try:
        yield
    finally:
        fields.BigInteger.unregister_lookup(NotEqual.name)


async def _badges() -> dict[str, int]:
    await LookupCountry.objects.create(code="ID")
    await LookupCountry.objects.create(code="NL")
    made = {}
    for code, country in (("a", "ID"), ("b", "NL"), ("", None), (None, "ID")):
        badge = await LookupBadge.objects.create(code=code, country_id=country)
        made[repr(code)] = badge.pk
    return made


async def _pks(queryset: Any) -> list[int]:
    return sorted(obj.pk for obj in await queryset)


async def test_a_custom_comparison_in_filter_q_and_exclude(db: Database) -> None:
    made = await _badges()
    a, b, empty, none = made["'a'"], made["'b'"], made["''"], made["None"]
    assert await _pks(LookupBadge.objects.filter(code__ne="a")) == sorted([b, empty])
    assert await _pks(LookupBadge.objects.filter(Q(code__ne="a") & Q(code__ne="b"))) == [empty]
    assert await _pks(LookupBadge.objects.filter(Q(code__ne="a") | Q(code="a"))) == sorted(
        [a, b, empty]
    )
    # NOT (code <> 'a') keeps the NULL row, as exclude() does for every lookup.
    assert await _pks(LookupBadge.objects.exclude(code__ne="a")) == sorted([a, none])
    with pytest.raises(ValidationError, match="code__ne"):
        LookupBadge.objects.filter(code__ne=5)


async def test_a_custom_lookup_with_its_own_sql_and_cache_variant(db: Database) -> None:
    made = await _badges()
    a, b, empty = made["'a'"], made["'b'"], made["''"]
    # The same key with True then False must not share a compiled statement.
    assert await _pks(LookupBadge.objects.filter(code__blank=True)) == [empty]
    assert await _pks(LookupBadge.objects.filter(code__blank=False)) == sorted([a, b])
    assert await _pks(LookupBadge.objects.filter(code__blank=True)) == [empty]
    with pytest.raises(ValidationError, match="code__blank: blank takes True or False"):
        LookupBadge.objects.filter(code__blank="yes")


async def test_a_foreign_key_to_a_text_key_takes_text_lookups(db: Database) -> None:
    made = await _badges()
    a, none = made["'a'"], made["None"]
    assert await _pks(LookupBadge.objects.filter(country__istartswith="i")) == sorted([a, none])
    assert await _pks(LookupBadge.objects.filter(country__in=["NL"])) == [made["'b'"]]


async def test_annotation_filters_use_the_result_fields_registry(
    db: Database, not_equal_on_counts: None
) -> None:
    ada = await User.objects.create(name="Ada", email="ada@example.com")
    bob = await User.objects.create(name="Bob", email="bob@example.com")
    for title in ("Alpha", "Beta"):
        await Post.objects.create(title=title, slug=title.lower(), author=ada)
    await Post.objects.create(title="Gamma", slug="gamma", author=bob)
    counted = User.objects.annotate(n=Count("posts"))
    assert await _pks(counted.filter(n__ne=1)) == [ada.pk]
    assert await _pks(counted.filter(Q(n__ne=2) | Q(n=2))) == sorted([ada.pk, bob.pk])
    newest = User.objects.annotate(top=Max("posts__title"))
    # Max of a String column is text: it offers the text lookups.
    assert await _pks(newest.filter(top__istartswith="b")) == [ada.pk]
    assert await _pks(newest.filter(top__contains="amm")) == [bob.pk]


def test_registering_reaches_subclasses_whose_lookups_were_read() -> None:
    class Parent(fields.String):
        pass

    class Child(Parent):
        pass

    child = Child(max_length=5)
    assert child.get_lookup("ne") is None
    Parent.register_lookup(NotEqual)
    assert child.lookups() == (*TEXT, "ne")
    Parent.unregister_lookup("ne")
    assert child.lookups() == TEXT and child.get_lookup("ne") is None
