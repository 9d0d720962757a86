"""Seed a SQLite blog and serve its API with uvicorn on 127.0.0.1:8000 (``make demo``).

python -m examples.blog.serve [--database-url URL] [--port 8000] [--no-seed] [--migrate]

The schema comes from the blog's migrations (examples/blog/migrations), as in a project:
seeding starts the database over from them; ``--no-seed`` serves the database as it is,
and ``--no-seed --migrate`` applies the migrations it lacks at startup first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Sequence
from pathlib import Path

import uvicorn

import aksara
from examples.blog.models import Post
from examples.blog.seed import DEMO_PASSWORD, GUIDE_SLUG, seed_api

#: The blog's migrations folder and models module.
MIGRATIONS = {
    "path": str(Path(__file__).with_name("migrations")),
    "models": ["examples.blog.models"],
}

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


async def migrate(database_url: str) -> list[str]:
    """Apply the blog's migrations the database lacks; return the revision it is at."""
    async with aksara.connect(database_url):
        return await aksara.migrate(**MIGRATIONS)


async def prepare(database_url: str, *, posts: int) -> int:
    """Make the blog's tables anew from its migrations and seed them; return the number of
    posts."""
    async with aksara.connect(database_url):
        # Start over: back before the first revision, and tables from before migrations.
        await aksara.migrate("zero", allow_drop=True, **MIGRATIONS)
        await aksara.drop_tables()
        await aksara.migrate(**MIGRATIONS)
        await seed_api(posts=posts)
        return await Post.objects.count()


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default="sqlite:///blog.sqlite3")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--posts", type=int, default=1_000, help="random posts to seed")
    parser.add_argument("--no-seed", action="store_true", help="serve the database as it is")
    parser.add_argument(
        "--migrate", action="store_true", help="with --no-seed: apply missing migrations first"
    )
    arguments = parser.parse_args(argv)
    # Tokens are signed with SECRET_KEY: from the environment, or one for this run.
    secret = os.environ.get("AKSARA_SECRET_KEY") or secrets.token_urlsafe(50)
    aksara.configure(DATABASE_URL=arguments.database_url, SECRET_KEY=secret)
    base = f"http://{arguments.host}:{arguments.port}"
    if not arguments.no_seed:
        count = asyncio.run(prepare(arguments.database_url, posts=arguments.posts))
        print(f"Seeded {count} posts at {arguments.database_url}.")
    elif arguments.migrate:
        heads = asyncio.run(migrate(arguments.database_url))
        print(f"Migrated {arguments.database_url} to {', '.join(heads)}.")
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
