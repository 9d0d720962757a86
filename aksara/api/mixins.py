"""The standard actions, one mixin each, composed into ``ModelViewSet`` as DRF composes them.

Reads go queryset → filters → the serializer's compiled output and plan → page → JSON.
Writes read the body within ``MAX_BODY_BYTES``, validate and save in one ``atomic()`` block,
and answer with the saved object as the compiled output renders it.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response as StarletteResponse

from aksara.api.body import read_json_body
from aksara.api.responses import Response
from aksara.api.views import GenericViewSet, resolve
from aksara.db import atomic

__all__ = [
    "CreateModelMixin",
    "DestroyModelMixin",
    "ListModelMixin",
    "RetrieveModelMixin",
    "UpdateModelMixin",
]


class ListModelMixin(GenericViewSet):
    """``list``: the filtered rows, a page of them when ``pagination_class`` is set."""

    async def list(self, request: Request, *args: Any, **kwargs: Any) -> StarletteResponse:
        """``GET /posts/``."""
        queryset = self.filter_queryset(await self.resolve_queryset())
        output = self.get_output()
        queryset = output.plan.apply(queryset)
        names = output.column_names(queryset.query) if self.pages_columns() else None
        if names is not None:
            # Only columns are read: fetched as tuples, each one the rendered row.
            columns = queryset.values_list(*names)
            page = await self.paginate_queryset(columns)
            rows = page if page is not None else await columns
            data = output.from_columns(rows)
            return self.get_paginated_response(data) if page is not None else Response(data)
        context = self.get_serializer_context()
        page = await self.paginate_queryset(queryset)
        if page is not None:
            return self.get_paginated_response(await output.many(page, context))
        return Response(await output.many(await queryset, context))


class RetrieveModelMixin(GenericViewSet):
    """``retrieve``: one object, loaded as the serializer's plan says."""

    async def retrieve(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``GET /posts/{pk}/``."""
        instance = await self.get_object()
        return Response(await self.get_output().one(instance, self.get_serializer_context()))


class CreateModelMixin(GenericViewSet):
    """``create``: validate the body and save a new object (201)."""

    async def create(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``POST /posts/``."""
        body = await read_json_body(request)
        serializer = self.get_serializer(data=body)
        async with atomic():
            await serializer.is_valid(raise_exception=True)
            await resolve(self.perform_create(serializer))
        return Response(await self.render_saved(serializer.instance), status=201)

    async def perform_create(self, serializer: Any) -> None:
        """Save the validated object (override to add values: ``serializer.save(owner=...)``)."""
        await serializer.save()


class UpdateModelMixin(GenericViewSet):
    """``update`` and ``partial_update``: validate the body and save the object (200)."""

    async def update(
        self, request: Request, *args: Any, partial: bool = False, **kwargs: Any
    ) -> Response:
        """``PUT /posts/{pk}/`` (every writable field) and, with *partial*, ``PATCH``."""
        body = await read_json_body(request)
        instance = await self.get_object()
        serializer = self.get_serializer(instance, data=body, partial=partial)
        async with atomic():
            await serializer.is_valid(raise_exception=True)
            await resolve(self.perform_update(serializer))
        return Response(await self.render_saved(serializer.instance))

    async def partial_update(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``PATCH /posts/{pk}/``: only the fields in the body."""
        return await self.update(request, *args, partial=True, **kwargs)

    async def perform_update(self, serializer: Any) -> None:
        """Save the validated changes."""
        await serializer.save()


class DestroyModelMixin(GenericViewSet):
    """``destroy``: delete the object (204)."""

    async def destroy(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        """``DELETE /posts/{pk}/``."""
        instance = await self.get_object()
        async with atomic():
            await resolve(self.perform_destroy(instance))
        return Response(status=204)

    async def perform_destroy(self, instance: Any) -> None:
        """Delete *instance*."""
        await instance.delete()
