"""DRF serializers of the stack: one per shape of the contract."""

from __future__ import annotations

from rest_framework import serializers

from benchmarks.http.stacks.django_drf.models import Post, User, World

__all__ = [
    "AuthorSerializer",
    "FeedSerializer",
    "PostCreateSerializer",
    "PostDetailSerializer",
    "PostListSerializer",
    "WorldSerializer",
]


class PostListSerializer(serializers.ModelSerializer):
    """A post in the list page: its author's name and its comment count (annotated)."""

    author_name = serializers.CharField(source="author.name", read_only=True)
    comment_count = serializers.IntegerField(read_only=True)

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_name", "comment_count", "created_at"]


class AuthorSerializer(serializers.ModelSerializer):
    """A post's author, nested in the detail."""

    class Meta:
        model = User
        fields = ["id", "name"]


class PostDetailSerializer(serializers.ModelSerializer):
    """A post with its author."""

    author = AuthorSerializer(read_only=True)

    class Meta:
        model = Post
        fields = [
            "id",
            "title",
            "slug",
            "content",
            "author",
            "is_published",
            "view_count",
            "created_at",
        ]


class FeedSerializer(serializers.ModelSerializer):
    """A post in the feed."""

    class Meta:
        model = Post
        fields = ["id", "title", "slug", "author_id", "is_published", "view_count", "created_at"]


class PostCreateSerializer(serializers.ModelSerializer):
    """A new post: title 1..200 characters, a lowercase slug, an existing author."""

    slug = serializers.RegexField(r"^[a-z0-9-]+$", max_length=100)

    class Meta:
        model = Post
        fields = [
            "id",
            "title",
            "slug",
            "content",
            "author",
            "is_published",
            "view_count",
            "created_at",
        ]
        read_only_fields = ["id", "view_count", "created_at"]


class WorldSerializer(serializers.ModelSerializer):
    """A ``world`` row as TechEmpower spells it."""

    randomNumber = serializers.IntegerField(source="randomnumber")  # TechEmpower's key

    class Meta:
        model = World
        fields = ["id", "randomNumber"]
