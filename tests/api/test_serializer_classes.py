"""Serializer classes: fields collected once per class, ModelSerializer's mapping of model
fields, and the errors of a wrong Meta."""

from __future__ import annotations

import pytest

from aksara.api import serializers
from aksara.api.serializers import ModelSerializer, Serializer, SerializerMethodField
from examples.blog.models import Comment, Post, User
from tests.models import Kitchen


class PostSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer()

    class Meta:
        model = Post
        fields = "__all__"


def test_declared_and_derived_fields_in_order() -> None:
    names = list(PostSerializer.get_fields())
    assert names[:3] == ["id", "title", "slug"]
    assert names[-2:] == ["author_name", "comment_count"]
    assert PostSerializer.get_fields()["author_name"].source_path == ("author", "name")
    assert PostSerializer.get_fields()["comment_count"].source_path == ("comment_count",)


def test_model_constraints_carry_over() -> None:
    fields = PostSerializer.get_fields()
    assert fields["id"].read_only
    assert fields["created_at"].read_only  # auto_now_add
    assert isinstance(fields["title"], serializers.String)
    assert fields["title"].max_length == 200 and fields["title"].required
    assert not fields["content"].required and fields["content"].allow_blank
    assert not fields["view_count"].required
    assert fields["view_count"].min_value == -(2**31)
    author = fields["author"]
    assert isinstance(author, serializers.PrimaryKeyRelated)
    assert author.model is User and author.source_path == ("author_id",)


def test_every_model_field_type_is_mapped() -> None:
    class KitchenSerializer(ModelSerializer):
        class Meta:
            model = Kitchen
            fields = "__all__"

    kinds = {name: type(field) for name, field in KitchenSerializer.get_fields().items()}
    assert kinds["price"] is serializers.Decimal
    assert kinds["token"] is serializers.UUID
    assert kinds["data"] is serializers.JSON
    assert kinds["day"] is serializers.Date
    assert kinds["big"] is serializers.Integer
    assert KitchenSerializer.get_fields()["notes"].allow_null
    assert KitchenSerializer.get_fields()["price"].decimal_places == 2


def test_inherited_fields_are_bound_to_each_class() -> None:
    class Base(Serializer):
        title = serializers.String()

    class Child(Base):
        extra = serializers.Integer(source="view_count")

    assert list(Child.get_fields()) == ["title", "extra"]
    assert Child.get_fields()["title"] is not Base.get_fields()["title"]
    assert Child.get_fields()["title"].parent is Child
    assert Base.get_fields()["title"].parent is Base


def test_read_only_meta_and_read_only_fields() -> None:
    class ListSerializer(ModelSerializer):
        class Meta:
            model = Post
            fields = ["id", "title", "slug", "created_at"]
            read_only = True

    class Partly(ModelSerializer):
        class Meta:
            model = Post
            fields = ["id", "title", "view_count"]
            read_only_fields = ["view_count"]

    assert all(field.read_only for field in ListSerializer.get_fields().values())
    assert Partly.get_fields()["view_count"].read_only
    assert not Partly.get_fields()["title"].read_only


def test_depth_nests_related_serializers() -> None:
    class Deep(ModelSerializer):
        class Meta:
            model = Comment
            fields = ["id", "post", "author"]
            depth = 1

    author = Deep.get_fields()["author"]
    assert isinstance(author, ModelSerializer) and author.read_only
    assert "email" in author.get_fields()
    assert author.source_path == ("author",)


def test_reverse_relation_listed_explicitly() -> None:
    class WithComments(ModelSerializer):
        class Meta:
            model = User
            fields = ["id", "comments"]

    comments = WithComments.get_fields()["comments"]
    assert isinstance(comments, serializers.PrimaryKeyRelated)
    assert comments.many and comments.read_only and comments.model is Comment


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"model": Post}, "needs `fields`"),
        ({"model": Post, "fields": "title"}, "must be a list"),
        ({"model": Post, "fields": ["nope"]}, "Post has no field 'nope'"),
        ({"model": Post, "exclude": ["nope"]}, "unknown field(s) nope"),
        ({"model": Post, "fields": ["id"], "colour": 1}, "unknown option(s) colour"),
        ({"model": object, "fields": ["id"]}, "must be a Model class"),
    ],
)
def test_meta_errors_name_the_problem(meta: dict[str, object], message: str) -> None:
    with pytest.raises(Exception) as caught:
        type("Broken", (ModelSerializer,), {"Meta": type("Meta", (), meta)})
    assert message in str(caught.value)


def test_declared_field_left_out_of_meta_fields() -> None:
    with pytest.raises(TypeError, match=r"declares extra but Meta\.fields does not list it"):

        class Broken(ModelSerializer):
            extra = serializers.Integer()

            class Meta:
                model = Post
                fields = ["id"]


def test_method_field_needs_its_method() -> None:
    with pytest.raises(TypeError, match=r"has no method get_total\(self, obj\)"):

        class Broken(Serializer):
            total = SerializerMethodField()


def test_field_option_conflicts() -> None:
    with pytest.raises(ValueError, match="both read_only and write_only"):
        serializers.String(read_only=True, write_only=True)
    with pytest.raises(ValueError, match="required and have a default"):
        serializers.String(required=True, default="x")
