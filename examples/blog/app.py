"""The blog API: ``uvicorn examples.blog.app:app`` serves it on the settings' database
(``python -m examples.blog.serve`` seeds a SQLite blog first). Its OpenAPI document is at
``/openapi.json`` and its docs page at ``/docs``."""

from __future__ import annotations

from aksara import Aksara
from aksara.api import Router, TokenViewSet
from examples.blog.viewsets import CommentViewSet, PostViewSet, TagViewSet, UserViewSet

__all__ = ["app", "router"]

router = Router(prefix="/api")
router.register("posts", PostViewSet)
router.register("users", UserViewSet)
router.register("comments", CommentViewSet)
router.register("tags", TagViewSet)
# POST /api/token/ {"email": ..., "password": ...} and POST /api/token/refresh/ {"refresh": ...}
router.register("token", TokenViewSet, basename="token")

app = Aksara(title="Aksara blog", version="1.0")
app.include_router(router)
