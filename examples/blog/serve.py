"""Seed a SQLite blog and serve its API with uvicorn on 127.0.0.1:8000 (``make demo``).

python -m examples.blog.serve [--database-url URL] [--port 8000] [--no-seed]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Sequence

import uvicorn

import aksara
from examples.blog.models import Post
from examples.blog.seed import DEMO_PASSWORD, GUIDE_SLUG, seed_api

#: Paths worth a first request, relative to the server's address.
TRY = [
    "/api/posts/",
    "/api/posts/?fields=id,title",
    "/api/posts/?page=2&page_size=5",
    "/api/posts/?is_published=true&ordering=-view_count",
    "/api/posts/?search=cache",
    f"/api/posts/{GUIDE_SLUG}/",
    "/api/comments/?post=1",
    "/api/users/1/",
    "/api/tags/",
]


async def prepare(database_url: str, *, posts: int) -> int:
    """Make the blog's tables anew and seed them; return the number of posts."""
    async with aksara.connect(database_url):
        await aksara.drop_tables()
        await aksara.create_tables()
        await seed_api(posts=posts)
        return await Post.objects.count()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite:///blog.sqlite3")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--posts", type=int, default=1_000, help="random posts to seed")
    parser.add_argument("--no-seed", action="store_true", help="serve the database as it is")
    arguments = parser.parse_args(argv)
    # Tokens are signed with SECRET_KEY: from the environment, or one for this run.
    secret = os.environ.get("AKSARA_SECRET_KEY") or secrets.token_urlsafe(50)
    aksara.configure(DATABASE_URL=arguments.database_url, SECRET_KEY=secret)
    base = f"http://{arguments.host}:{arguments.port}"
    if not arguments.no_seed:
        count = asyncio.run(prepare(arguments.database_url, posts=arguments.posts))
        print(f"Seeded {count} posts at {arguments.database_url}.")
    print(f"The blog API is at {base}/api/ - try:")
    for path in TRY:
        print(f"  {base}{path}")
    print(
        f"Log in as any seeded user (user0@example.com ... password {DEMO_PASSWORD!r}):\n"
        f"  curl -X POST {base}/api/token/ -H 'Content-Type: application/json' "
        f"""-d '{{"email": "user0@example.com", "password": "{DEMO_PASSWORD}"}}'\n"""
        f"  then send 'Authorization: Bearer <access>' to write posts and comments "
        f"({base}/api/users/me/ says who you are)."
    )
    print("Ctrl+C stops it. The guide's patterns, bad vs good: .venv/bin/aksara demo", flush=True)
    from examples.blog.app import app

    uvicorn.run(app, host=arguments.host, port=arguments.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
