"""The performance guide's models, with its indexes: users, posts with their tags, comments."""

from __future__ import annotations

from aksara import Index, Model, fields
from aksara.auth import AbstractBaseUser


# The blog's users log in with their email and a password (AbstractBaseUser adds the
# password column; is_active and last_login are the guide's own fields).
class User(AbstractBaseUser):
    USERNAME_FIELD = "email"

    name = fields.String(max_length=100)
    email = fields.String(max_length=254, unique=True)
    is_active = fields.Boolean(default=True)
    last_login = fields.DateTime(null=True)
    created_at = fields.DateTime(auto_now_add=True)


class Tag(Model):
    name = fields.String(max_length=50, unique=True)


class Post(Model):
    title = fields.String(max_length=200)
    slug = fields.String(max_length=200, db_index=True)  # Index
    content = fields.Text(default="")
    metadata = fields.JSON(default=dict)
    author = fields.ForeignKey(User, on_delete=fields.CASCADE)  # FK auto-indexed
    is_published = fields.Boolean(default=False)
    view_count = fields.Integer(default=0)
    created_at = fields.DateTime(auto_now_add=True, db_index=True)
    tags = fields.ManyToMany(Tag, related_name="posts")  # join table posts_tags

    class Meta:
        indexes = [
            # Composite index
            Index(fields=["author", "created_at"]),
            # Partial index
            Index(fields=["is_published"], condition="is_published = true"),
        ]


class Comment(Model):
    post = fields.ForeignKey(Post, on_delete=fields.CASCADE, related_name="comments")
    author = fields.ForeignKey(User, on_delete=fields.CASCADE, related_name="comments")
    body = fields.Text()
    created_at = fields.DateTime(auto_now_add=True)
