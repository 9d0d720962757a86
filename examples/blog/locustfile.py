"""The performance guide's load test of the blog API (locust is not a dependency):

pip install locust
locust -f examples/blog/locustfile.py --host=http://localhost:8000

The blog throttles anonymous requests per client address (``BLOG_ANON_RATE``, 2000/s by
default, far above what locust sends from one machine); every locust user comes from one
address, so a lower rate makes the run measure 429s (``BLOG_ANON_RATE=off`` removes it).
"""

from locust import HttpUser, task


class APIUser(HttpUser):
    @task
    def list_posts(self):
        self.client.get("/api/posts/")

    @task
    def get_post(self):
        self.client.get("/api/posts/abc-123/")
