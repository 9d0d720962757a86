"""Versions of a small schema, defined anew for each test under a module name of its own."""

from __future__ import annotations

from aksara import Index, Model, fields
from tests.migrations.helpers import module_name


def version_one() -> list[type[Model]]:
    """Authors and articles, with a unique column, a composite and a partial index."""
    module = module_name()

    class Author(Model):
        __module__ = module
        name = fields.String(max_length=100)
        email = fields.String(max_length=200, unique=True)

        class Meta:
            table_name = "mt_authors"

    class Article(Model):
        __module__ = module
        title = fields.String(max_length=100)
        body = fields.Text(null=True)
        views = fields.Integer(default=0)
        price = fields.Decimal(max_digits=10, decimal_places=2, null=True)
        legacy = fields.String(max_length=50, null=True)
        summary = fields.String(max_length=100, null=True)
        published = fields.Boolean(default=False)
        author = fields.ForeignKey(Author, on_delete=fields.CASCADE)

        class Meta:
            table_name = "mt_articles"
            indexes = [
                Index(fields=["title", "views"]),
                Index(fields=["published"], condition="published = true"),
            ]

    return [Author, Article]


def version_two() -> list[type[Model]]:
    """Version one with a renamed, an added, a longer, a dropped and a NOT NULL column,
    other indexes, a new foreign key and a many-to-many to a new model."""
    module = module_name()

    class Author(Model):
        __module__ = module
        name = fields.String(max_length=100)
        email = fields.String(max_length=200, unique=True)

        class Meta:
            table_name = "mt_authors"

    class Tag(Model):
        __module__ = module
        label = fields.String(max_length=30, unique=True)

        class Meta:
            table_name = "mt_tags"

    class Article(Model):
        __module__ = module
        title = fields.String(max_length=150)
        content = fields.Text(null=True)
        views = fields.Integer(default=0)
        price = fields.Decimal(max_digits=10, decimal_places=2, null=True)
        summary = fields.String(max_length=100, default="")
        rating = fields.Integer(default=5)
        published = fields.Boolean(default=False)
        author = fields.ForeignKey(Author, on_delete=fields.CASCADE)
        editor = fields.ForeignKey(
            Author, null=True, on_delete=fields.SET_NULL, related_name="edited"
        )
        tags = fields.ManyToMany(Tag, related_name="articles")

        class Meta:
            table_name = "mt_articles"
            indexes = [
                Index(fields=["author", "views"]),
                Index(fields=["views"], condition="views > 100"),
            ]

    return [Author, Tag, Article]
