"""The performance guide's load test of the blog API (locust is not a dependency):

pip install locust
locust -f examples/blog/locustfile.py --host=http://localhost:8000

The blog throttles anonymous requests per client address (6000/min); every locust user
comes from one address, so serve it with ``BLOG_ANON_RATE=off`` (or a higher rate) to
measure the API rather than the 429s.
"""

from locust import HttpUser, task


class APIUser(HttpUser):
    @task
    def list_posts(self):
        self.client.get("/api/posts/")

    @task
    def get_post(self):
        self.client.get("/api/posts/abc-123/")
