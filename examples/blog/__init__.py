"""The blog of the performance guide: users, posts with tags, comments, and its REST API
(``app.py``; ``python -m examples.blog.serve`` seeds a SQLite file and serves it)."""
