"""Unmanaged Django models mapped onto the benchmark's existing tables."""

from __future__ import annotations

from django.db import models

__all__ = ["Comment", "Fortune", "Post", "User", "World"]


class User(models.Model):
    """A row of ``users``."""

    id = models.BigAutoField(primary_key=True)
    name = models.CharField(max_length=100)
    email = models.EmailField(max_length=254, unique=True)
    is_active = models.BooleanField(default=True)
    last_login = models.DateTimeField(null=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = "users"


class Post(models.Model):
    """A row of ``posts``."""

    id = models.BigAutoField(primary_key=True)
    title = models.CharField(max_length=200)
    slug = models.CharField(max_length=200, db_index=True)
    content = models.TextField(default="", blank=True)
    metadata = models.JSONField(default=dict)
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="posts")
    is_published = models.BooleanField(default=False)
    view_count = models.IntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        managed = False
        db_table = "posts"


class Comment(models.Model):
    """A row of ``comments``."""

    id = models.BigAutoField(primary_key=True)
    post = models.ForeignKey(Post, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(User, on_delete=models.CASCADE, related_name="comments")
    body = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        managed = False
        db_table = "comments"


class World(models.Model):
    """A row of TechEmpower's ``world`` table."""

    id = models.IntegerField(primary_key=True)
    randomnumber = models.IntegerField()

    class Meta:
        managed = False
        db_table = "world"


class Fortune(models.Model):
    """A row of TechEmpower's ``fortune`` table."""

    id = models.IntegerField(primary_key=True)
    message = models.CharField(max_length=2048)

    class Meta:
        managed = False
        db_table = "fortune"
