"""The stack's URLs: the router's posts, the feed and TechEmpower's tests."""

from __future__ import annotations

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from benchmarks.http.stacks.django_drf import views

__all__ = ["urlpatterns"]

router = SimpleRouter()
router.register("posts", views.PostViewSet, basename="post")

urlpatterns = [
    path("api/feed/", views.FeedView.as_view()),
    path("api/", include(router.urls)),
    path("json", views.json),
    path("db", views.db),
    path("queries", views.queries),
    path("fortunes", views.fortunes),
    path("updates", views.updates),
]
