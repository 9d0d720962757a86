"""The command line: makemigrations (and its --check), migrate, showmigrations, sqlmigrate;
two `migrate` processes at once on PostgreSQL; the blog example's migrations."""

from __future__ import annotations

import asyncio
import os
import sys
import textwrap
from pathlib import Path

import pytest

import tests.conftest as common
from aksara.cli import main
from aksara.migrations.project import script_directory
from tests.migrations.helpers import module_name, postgres_database

ROOT = Path(__file__).resolve().parents[2]

MODELS = """
from aksara import Model, fields


class Note(Model):
    title = fields.String(max_length={length})
    {body} = fields.Text(default="")

    class Meta:
        table_name = "mt_notes"
"""


def _models(folder: Path, *, length: int = 80, body: str = "body") -> str:
    name = module_name()
    (folder / f"{name}.py").write_text(textwrap.dedent(MODELS.format(length=length, body=body)))
    return name


def test_the_commands_from_the_first_revision_to_the_check(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    first = _models(tmp_path)
    common_options = ["--database-url", url, "--models", first]
    assert main(["makemigrations", "-m", "notes", "--no-input", *common_options]) == 0
    assert (tmp_path / "migrations" / "env.py").exists()
    (revision,) = script_directory(tmp_path / "migrations").get_heads()
    assert f"{revision}_notes.py" in capsys.readouterr().out
    assert main(["showmigrations", "--database-url", url]) == 0
    assert capsys.readouterr().out == f"[ ] {revision}  notes\n"
    assert main(["sqlmigrate", revision, "--dialect", "postgresql"]) == 0
    assert "CREATE TABLE mt_notes" in capsys.readouterr().out
    assert main(["migrate", *common_options]) == 0
    assert capsys.readouterr().out == f"The database is at {revision}.\n"
    assert main(["showmigrations", "--database-url", url]) == 0
    assert capsys.readouterr().out == f"[X] {revision}  notes\n"
    assert main(["makemigrations", "--check", *common_options]) == 0
    capsys.readouterr()

    longer = _models(tmp_path, length=120)
    assert main(["makemigrations", "--check", "--database-url", url, "--models", longer]) == 1
    error = capsys.readouterr().err
    assert "differ" in error and "mt_notes" in error

    renamed = _models(tmp_path, body="text")
    options = ["--database-url", url, "--models", renamed]
    assert main(["makemigrations", "--no-input", *options]) == 1
    assert "--rename mt_notes.body:text" in capsys.readouterr().err
    assert main(["makemigrations", "--no-input", "--rename", "body:text", *options]) == 0
    assert main(["migrate", *options]) == 0
    assert main(["makemigrations", "--check", *options]) == 0
    assert main(["migrate", "zero", *options]) == 0
    assert "zero (no revision)" in capsys.readouterr().out


def test_the_blog_example_migrations_match_its_models(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    options = [
        "--path",
        str(ROOT / "examples" / "blog" / "migrations"),
        "--models",
        "examples.blog.models",
        "--database-url",
        f"sqlite:///{tmp_path / 'blog.sqlite3'}",
    ]
    assert main(["migrate", *options]) == 0
    assert main(["makemigrations", "--check", *options]) == 0, capsys.readouterr().err


REVISION = """
from alembic import op

revision = "c0c0"
down_revision = "{parent}"
branch_labels = None
depends_on = None


def upgrade():
    op.execute("CREATE TABLE mt_runs (n integer)")
    op.execute("INSERT INTO mt_runs VALUES (1)")
    op.execute("SELECT pg_sleep(0.5)")  # the other process arrives meanwhile


def downgrade():
    op.execute("DROP TABLE mt_runs")
"""


async def test_two_migrate_processes_apply_each_revision_once(tmp_path: Path) -> None:
    problem = await common._postgres_unavailable()
    if problem:
        if common.IN_CI:
            pytest.fail(problem + " (CI requires it)")
        pytest.skip(problem)
    name = _models(tmp_path)
    async with postgres_database() as url:
        options = ["--database-url", url, "--models", name, "--path", str(tmp_path / "m")]
        environment = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}

        async def run(*arguments: str) -> tuple[int, str]:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "aksara.cli",
                *arguments,
                cwd=tmp_path,
                env=environment,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.STDOUT,
            )
            output, _ = await process.communicate()
            assert process.returncode is not None
            return process.returncode, output.decode()

        assert (await run("makemigrations", "--no-input", *options))[0] == 0
        parent = script_directory(tmp_path / "m").get_current_head()
        (tmp_path / "m" / "versions" / "c0c0_runs.py").write_text(
            textwrap.dedent(REVISION.format(parent=parent))
        )
        results = await asyncio.gather(run("migrate", *options), run("migrate", *options))
        assert [code for code, _ in results] == [0, 0], results
        assert all("The database is at c0c0." in output for _, output in results)
        import asyncpg

        connection = await asyncpg.connect(url)
        try:
            assert await connection.fetchval("SELECT count(*) FROM mt_runs") == 1
            assert await connection.fetchval("SELECT version_num FROM alembic_version") == "c0c0"
        finally:
            await connection.close()
