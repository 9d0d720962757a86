"""Viewsets, as DRF composes them: ``ModelViewSet`` (every standard action) and
``ReadOnlyModelViewSet`` (list and retrieve) on ``GenericViewSet``; ``@action`` routes more."""

from __future__ import annotations

from aksara.api.mixins import (
    CreateModelMixin,
    DestroyModelMixin,
    ListModelMixin,
    RetrieveModelMixin,
    UpdateModelMixin,
)
from aksara.api.views import GenericViewSet, ViewSet, action

__all__ = ["GenericViewSet", "ModelViewSet", "ReadOnlyModelViewSet", "ViewSet", "action"]


class ReadOnlyModelViewSet(RetrieveModelMixin, ListModelMixin, GenericViewSet):
    """``list`` and ``retrieve``: ``GET /posts/`` and ``GET /posts/{pk}/``."""


class ModelViewSet(
    CreateModelMixin,
    RetrieveModelMixin,
    UpdateModelMixin,
    DestroyModelMixin,
    ListModelMixin,
    GenericViewSet,
):
    """Every standard action: list, create, retrieve, update, partial_update, destroy."""
