"""Alembic's environment for this project's migrations, written by Aksara.

Leave it as it is: `aksara makemigrations` / `aksara migrate` configure everything.
"""

from aksara.migrations.environment import run_environment

run_environment()
