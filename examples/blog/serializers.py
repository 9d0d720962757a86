"""The blog API's serializers, as the performance guide writes them."""

from __future__ import annotations

from aksara.api import serializers
from aksara.api.serializers import ModelSerializer
from examples.blog.models import Comment, Post, Tag, User


# For list views, use lightweight serializers
class PostListSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = ["id", "title", "slug", "created_at"]
        read_only = True


# Detailed serializer for single items (and the body of a create or an update)
class PostDetailSerializer(ModelSerializer):
    class Meta:
        model = Post
        fields = "__all__"
        read_only_fields = ["author"]  # the signed-in user writing it


# The guide's "good" serializer: the author comes with the post's query (a JOIN) and the
# comment count is the queryset's annotation, so a page costs one query whatever its size.
class PostSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name")
    comment_count = serializers.Integer(read_only=True)

    class Meta:
        model = Post
        fields = [
            *("id", "title", "slug", "content", "metadata", "author", "author_name"),
            *("tags", "is_published", "view_count", "created_at", "comment_count"),
        ]


class UserSerializer(ModelSerializer):
    class Meta:
        model = User
        fields = ["id", "name", "email", "is_active", "created_at"]


class CommentSerializer(ModelSerializer):
    author_name = serializers.String(source="author.name", read_only=True)

    class Meta:
        model = Comment
        fields = ["id", "post", "author", "author_name", "body", "created_at"]
        read_only_fields = ["author"]  # the signed-in user writing it


class TagSerializer(ModelSerializer):
    class Meta:
        model = Tag
        fields = ["id", "name"]
