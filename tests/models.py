"""Models the test suite uses besides the blog example's."""

from __future__ import annotations

from aksara import Model, fields


class Kitchen(Model):
    """One field of every kind."""

    label = fields.String(max_length=20)
    notes = fields.Text(null=True)
    small = fields.Integer(default=0)
    big = fields.BigInteger(null=True)
    ratio = fields.Float(null=True)
    price = fields.Decimal(max_digits=8, decimal_places=2, null=True)
    flag = fields.Boolean(default=False)
    moment = fields.DateTime(null=True)
    day = fields.Date(null=True)
    token = fields.UUID(null=True)
    data = fields.JSON(null=True)
    touched_at = fields.DateTime(auto_now=True)


class Category(Model):
    name = fields.String(max_length=50, unique=True)
    parent = fields.ForeignKey(
        "self", on_delete=fields.SET_NULL, null=True, related_name="children"
    )


class Tag(Model):
    name = fields.String(max_length=30, unique=True)
    category = fields.ForeignKey(Category, on_delete=fields.PROTECT, related_name="tags")

    class Meta:
        table_name = "category_tags"  # the blog example's Tag has "tags"


class Label(Model):
    name = fields.String(max_length=30)
    tag = fields.ForeignKey(Tag, on_delete=fields.RESTRICT, null=True, related_name="labels")

    class Meta:
        table_name = "custom_labels"
        ordering = ["name"]
