"""The performance guide's load test of the blog API (locust is not a dependency):

pip install locust
locust -f examples/blog/locustfile.py --host=http://localhost:8000
"""

from locust import HttpUser, task


class APIUser(HttpUser):
    @task
    def list_posts(self):
        self.client.get("/api/posts/")

    @task
    def get_post(self):
        self.client.get("/api/posts/abc-123/")
