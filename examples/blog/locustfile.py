"""The performance guide's load test of the blog API: the list page and post details, by
real slugs of the seeded data (the guide's ``abc-123`` and those the first pages list).

make load                      # serves the seeded example and runs this headless (load.py)
locust -f examples/blog/locustfile.py --host=http://localhost:8000

The blog throttles anonymous requests per client address (``BLOG_ANON_RATE``, 2000/s by
default, far above what locust sends from one machine); every locust user comes from one
address, so a lower rate makes the run measure 429s (``BLOG_ANON_RATE=off`` removes it).
"""

import random

from locust import HttpUser, task

#: The guide's post, seeded by examples.blog.seed (GUIDE_SLUG); locust loads this file by
#: its path, where the examples package may not be importable.
GUIDE_SLUG = "abc-123"
#: Slugs read from the API when a user starts: the newest posts, a page of them.
SLUG_PAGE = "/api/posts/?fields=slug&page_size=100"


class APIUser(HttpUser):
    slugs = [GUIDE_SLUG]

    def on_start(self):
        response = self.client.get(SLUG_PAGE, name="/api/posts/?fields=slug (start)")
        if response.ok:
            found = [post["slug"] for post in response.json()["results"]]
            self.slugs = found or [GUIDE_SLUG]

    @task
    def list_posts(self):
        self.client.get("/api/posts/")

    @task
    def get_post(self):
        slug = random.choice(self.slugs)
        self.client.get(f"/api/posts/{slug}/", name="/api/posts/<slug>/")
