"""The performance guide's "Cache Computed Values" model, exactly as the guide writes it."""

from __future__ import annotations

from typing import Any

from aksara import Model, fields
from aksara.cache import cache


class SpecPost(Model):
    title = fields.String(max_length=100)

    @property
    async def comment_count(self) -> Any:
        cache_key = f"post:{self.id}:comment_count"  # type: ignore[attr-defined]
        count = await cache.get(cache_key)
        if count is None:
            count = await self.comments.count()  # type: ignore[attr-defined]
            await cache.set(cache_key, count, ttl=60)
        return count


class SpecComment(Model):
    post = fields.ForeignKey(SpecPost, on_delete=fields.CASCADE, related_name="comments")
    body = fields.Text()
