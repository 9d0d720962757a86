"""Models the request-validation tests write through serializers: a unique e-mail, a unique
slug, a foreign key, a many-to-many relation and a unique_together pair."""

from __future__ import annotations

from aksara import Model, fields


class Writer(Model):
    name = fields.String(max_length=100)
    email = fields.String(max_length=254, unique=True)


class Topic(Model):
    name = fields.String(max_length=30, unique=True)


class Essay(Model):
    title = fields.String(max_length=200)
    slug = fields.String(max_length=200, unique=True)
    body = fields.Text(default="")
    writer = fields.ForeignKey(Writer, on_delete=fields.CASCADE, related_name="essays")
    topics = fields.ManyToMany(Topic, related_name="essays")
    view_count = fields.Integer(default=0)
    price = fields.Decimal(max_digits=6, decimal_places=2, null=True)
    published_at = fields.DateTime(null=True)
    created_at = fields.DateTime(auto_now_add=True)
    edited_at = fields.DateTime(auto_now=True)

    class Meta:
        unique_together = [("writer", "title")]
