"""Field selection and the compiled output's cache, without a database: normal forms, errors
that list the valid names, dotted narrowing of nested serializers, the LRU bound."""

from __future__ import annotations

import itertools
from types import SimpleNamespace

import pytest

from aksara.api import FieldSelectionError, serializers
from aksara.api.serializers import ModelSerializer, Serializer, output
from aksara.api.serializers.selection import normalize_selection, valid_names
from examples.blog.models import Post


class Person(Serializer):
    id = serializers.Integer()
    name = serializers.String()
    password = serializers.String(write_only=True)


class Note(Serializer):
    id = serializers.Integer()
    body = serializers.String()
    writer = Person()


class Entry(Serializer):
    id = serializers.Integer()
    title = serializers.String()
    author = Person()
    notes = Note(many=True)
    secret = serializers.String(write_only=True)


def entry() -> SimpleNamespace:
    ann = SimpleNamespace(id=7, name="Ann", password="x")
    bob = SimpleNamespace(id=8, name="Bob", password="y")
    notes = [
        SimpleNamespace(id=1, body="hi", writer=bob),
        SimpleNamespace(id=2, body="yo", writer=ann),
    ]
    return SimpleNamespace(id=3, title="T", author=ann, notes=notes, secret="s")


async def test_none_selects_every_readable_field_and_nests_them_whole() -> None:
    compiled = Entry.compile()
    assert [field.name for field in compiled.fields] == ["id", "title", "author", "notes"]
    assert compiled.selection == (
        ("id", None),
        ("title", None),
        ("author", (("id", None), ("name", None))),
        ("notes", (("id", None), ("body", None), ("writer", (("id", None), ("name", None))))),
    )
    assert set(compiled.nested) == {"author", "notes"}
    assert compiled.nested["notes"].nested["writer"].serializer is Person
    assert await compiled.one(entry()) == compiled.struct(
        3,
        "T",
        compiled.nested["author"].struct(7, "Ann"),
        [
            compiled.nested["notes"].struct(
                1, "hi", compiled.nested["notes"].nested["writer"].struct(8, "Bob")
            ),
            compiled.nested["notes"].struct(
                2, "yo", compiled.nested["notes"].nested["writer"].struct(7, "Ann")
            ),
        ],
    )


async def test_dotted_names_narrow_nested_serializers() -> None:
    compiled = Entry.compile(["notes.writer.name", "title", "author.name", "notes.id"])
    assert compiled.selection == (
        ("title", None),
        ("author", (("name", None),)),
        ("notes", (("id", None), ("writer", (("name", None),)))),
    )
    data = output.encode(await compiled.one(entry()))
    assert data == (
        b'{"title":"T","author":{"name":"Ann"},'
        b'"notes":[{"id":1,"writer":{"name":"Bob"}},{"id":2,"writer":{"name":"Ann"}}]}'
    )


def test_a_whole_nested_field_wins_over_its_dotted_names() -> None:
    assert Entry.compile(["author.name", "author"]).selection == (
        ("author", (("id", None), ("name", None))),
    )


def test_order_and_repeats_do_not_make_another_output() -> None:
    first = Entry.compile(["title", "id"])
    assert first.selection == (("id", None), ("title", None))
    assert Entry.compile(["id", "title", "id", " title "]) is first
    assert Entry.compile("id,title") is first
    assert Entry.compile(["id", "title", "author", "notes"]) is Entry.compile()


def test_blank_names_select_everything() -> None:
    assert Entry.compile([""]) is Entry.compile()
    assert Entry.compile([]) is Entry.compile()


@pytest.mark.parametrize(
    ("requested", "invalid"),
    [
        (["nope"], ["nope"]),
        (["id", "secret"], ["secret"]),
        (["author.password"], ["author.password"]),
        (
            ["title.length", "author.nope", "notes.writer.x"],
            ["title.length", "author.nope", "notes.writer.x"],
        ),
        (["author."], ["author."]),
    ],
)
def test_unknown_and_write_only_names_are_refused_listing_the_valid_ones(
    requested: list[str], invalid: list[str]
) -> None:
    with pytest.raises(FieldSelectionError) as raised:
        Entry.compile(requested)
    error = raised.value
    assert error.status_code == 400
    assert error.invalid == invalid
    assert error.valid == [
        "id",
        "title",
        "author",
        "author.id",
        "author.name",
        "notes",
        "notes.id",
        "notes.body",
        "notes.writer",
        "notes.writer.id",
        "notes.writer.name",
    ]
    message = error.detail["fields"][0]
    assert message.startswith(
        f"Unknown field{'s' if len(invalid) > 1 else ''}: {', '.join(invalid)}."
    )
    assert "Valid fields: id, title, author, author.id" in message
    assert "secret" not in message.partition("Valid")[2]


def test_valid_names_and_normal_form_helpers() -> None:
    assert valid_names(Person) == ["id", "name"]
    assert normalize_selection(Person, ["name"]) == (("name", None),)


def test_the_cache_is_a_bounded_lru_per_class(monkeypatch: pytest.MonkeyPatch) -> None:
    class Wide(Serializer):
        a = serializers.Integer()
        b = serializers.Integer()
        c = serializers.Integer()
        d = serializers.Integer()
        e = serializers.Integer()

    class Wider(Wide):
        f = serializers.Integer()

    monkeypatch.setattr(output, "CACHE_SIZE", 8)
    names = "abcde"
    subsets = [list(combo) for size in (1, 2) for combo in itertools.combinations(names, size)]
    assert len(subsets) == 15
    first = Wide.compile(subsets[0])
    kept = Wide.compile(subsets[1])
    for subset in subsets[2:]:
        Wide.compile(subset)
        Wide.compile(subsets[1])  # recently used: stays
    cache = Wide.__dict__["_outputs"]
    assert len(cache.requested) == 8
    assert len(cache.selected) == 8
    assert Wide.compile(subsets[1]) is kept
    assert Wide.compile(subsets[0]) is not first  # evicted, compiled again
    assert "_outputs" not in Wider.__dict__ or Wider.__dict__["_outputs"] is not cache
    assert [field.name for field in Wider.compile().fields] == list("abcdef")
    assert len(Wide.__dict__["_outputs"].requested) == 8


def test_the_default_bound_is_256() -> None:
    assert output.CACHE_SIZE == 256


async def test_rows_that_are_dicts_are_read_by_key() -> None:
    class Counter(Serializer):
        total = serializers.SerializerMethodField()

        async def get_total(self, obj: dict[str, int]) -> int:
            return obj["a"] + obj["b"]

    class Described(Serializer):
        id = serializers.Integer()
        writer_name = serializers.String(source="writer.name")
        writer = Person()
        notes = Note(many=True)
        keys = serializers.PrimaryKeyRelated(many=True)
        sums = Counter(many=True)

    row = {
        "id": 1,
        "writer": {"id": 2, "name": "Ann"},
        "notes": [{"id": 3, "body": "b", "writer": None}],
        "keys": [4, 5],
        "sums": [{"a": 1, "b": 2}, {"a": 3, "b": 4}],
    }
    compiled = Described.compile()
    assert output.encode(await compiled.many([row, {**row, "writer": None}])) == (
        b'[{"id":1,"writer_name":"Ann","writer":{"id":2,"name":"Ann"},'
        b'"notes":[{"id":3,"body":"b","writer":null}],"keys":[4,5],"sums":[{"total":3},{"total":7}]},'
        b'{"id":1,"writer_name":null,"writer":null,'
        b'"notes":[{"id":3,"body":"b","writer":null}],"keys":[4,5],"sums":[{"total":3},{"total":7}]}]'
    )
    assert "o['writer']" in compiled.mapping_program.source
    with pytest.raises(KeyError, match="writer"):
        await Described.compile(["writer_name"]).one({"id": 1})


async def test_dict_rows_of_a_model_serializer_are_read_as_values_gives_them() -> None:
    # values() rows carry the key column (author_id), as the field's source names it.
    class PostKeys(ModelSerializer):
        class Meta:
            model = Post
            fields = ["id", "author", "comments"]

    rows = [{"id": 1, "author_id": 3, "comments": [4, 5]}]
    assert output.encode(await PostKeys.compile().many(rows)) == (
        b'[{"id":1,"author":3,"comments":[4,5]}]'
    )


def test_the_default_bound_holds_256_selections_per_class() -> None:
    class Nine(Serializer):
        a = serializers.Integer()
        b = serializers.Integer()
        c = serializers.Integer()
        d = serializers.Integer()
        e = serializers.Integer()
        f = serializers.Integer()
        g = serializers.Integer()
        h = serializers.Integer()
        i = serializers.Integer()

    subsets = [
        list(combo) for size in range(1, 10) for combo in itertools.combinations("abcdefghi", size)
    ][:300]
    outputs = [Nine.compile(subset) for subset in subsets]
    cache = Nine.__dict__["_outputs"]
    assert len(cache.requested) == len(cache.selected) == 256
    assert Nine.compile(subsets[-1]) is outputs[-1]
    assert Nine.compile(subsets[0]) is not outputs[0]


async def test_a_nested_serializer_over_the_instance_itself_and_missing_values() -> None:
    class Flattened(Serializer):
        id = serializers.Integer()
        person = Person(source="*")
        notes = Note(many=True, allow_null=True)

    row = SimpleNamespace(id=1, name="Ann", notes=None)
    compiled = Flattened.compile()
    assert output.encode(await compiled.one(row)) == (
        b'{"id":1,"person":{"id":1,"name":"Ann"},"notes":null}'
    )
    assert await compiled.one(None) is None
    assert await compiled.many([]) == []
    assert await compiled.many(iter([row])) == [await compiled.one(row)]
