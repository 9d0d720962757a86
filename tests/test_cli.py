"""The ``aksara`` command: output, exit status and the tables it leaves, on both databases.

The commands that succeed run as the real program (``python -m aksara.cli``); the user's
mistakes run through ``main(argv)`` too, and must end in one line on stderr, no traceback.
"""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

import aksara
from aksara.cli import main
from aksara.conf import POOL_DEFAULTS
from aksara.db import Database
from aksara.orm.registry import registry
from tests.conftest import pool_options

REPO = Path(__file__).resolve().parents[1]

SHOP = """
from aksara import Model, fields


class CliShelf(Model):
    label = fields.String(max_length=40)

    class Meta:
        table_name = "cli_shelves"


class CliBook(Model):
    title = fields.String(max_length=100, db_index=True)
    shelf = fields.ForeignKey(CliShelf, on_delete=fields.CASCADE)

    class Meta:
        table_name = "cli_books"
"""

SHOP_TABLES = {"cli_shelves", "cli_books"}


@dataclass
class Result:
    status: int
    stdout: str
    stderr: str


async def run_aksara(*args: str, cwd: Path) -> Result:
    """Run ``python -m aksara.cli *args`` in *cwd*, with this checkout's aksara importable."""
    env = {key: value for key, value in os.environ.items() if key != "AKSARA_SETTINGS_MODULE"}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "aksara.cli",
        *args,
        cwd=cwd,
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await process.communicate()
    assert process.returncode is not None
    return Result(process.returncode, stdout.decode(), stderr.decode())


async def table_names(url: str) -> set[str]:
    database = Database(url, {**POOL_DEFAULTS, **pool_options()})
    try:
        if database.name == "postgresql":
            sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        else:
            sql = "SELECT name FROM sqlite_master WHERE type = 'table'"
        return {row[0] for row in await database.fetch(sql)}
    finally:
        await database.close()


def one_error_line(stderr: str) -> str:
    """The single line the command printed on stderr, checked to be an error, not a traceback."""
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    assert lines[0].startswith("aksara: error: ")
    return lines[0]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project directory holding ``shop.py``, a module of two related models."""
    (tmp_path / "shop.py").write_text(SHOP)
    return tmp_path


@pytest.fixture
def in_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """*tmp_path* as the working directory for ``main()`` in this process; the models,
    modules and import path it adds are taken away afterwards."""
    monkeypatch.chdir(tmp_path)
    models = set(registry.models())
    path = list(sys.path)
    yield tmp_path
    for model in registry.models():
        if model not in models:
            registry.unregister(model)
    for name, module in list(sys.modules.items()):
        if str(getattr(module, "__file__", None) or "").startswith(str(tmp_path)):
            del sys.modules[name]
    sys.path[:] = path


def unique_module(directory: Path, source: str) -> str:
    """Write *source* as a module of a name no other test uses; return that name."""
    name = f"cli_{uuid.uuid4().hex[:10]}"
    (directory / f"{name}.py").write_text(source)
    return name


# The commands that work -----------------------------------------------------------------------


async def test_version(tmp_path: Path) -> None:
    result = await run_aksara("version", cwd=tmp_path)
    assert (result.status, result.stdout, result.stderr) == (0, f"{aksara.__version__}\n", "")


async def test_db_create_then_drop(database_url: str, project: Path) -> None:
    try:
        created = await run_aksara(
            "db", "create", "--models", "shop", "--database-url", database_url, cwd=project
        )
        assert (created.status, created.stderr) == (0, "")
        assert await table_names(database_url) >= SHOP_TABLES

        again = await run_aksara(
            "db", "create", "--models", "shop", "--database-url", database_url, cwd=project
        )
        assert (again.status, again.stderr) == (0, ""), "create is idempotent"

        dropped = await run_aksara(
            "db", "drop", "--models", "shop", "--database-url", database_url, cwd=project
        )
        assert (dropped.status, dropped.stderr) == (0, "")
        assert not SHOP_TABLES & await table_names(database_url)
    finally:
        database = Database(database_url, {**POOL_DEFAULTS, **pool_options()})
        await database.execute("DROP TABLE IF EXISTS cli_books")
        await database.execute("DROP TABLE IF EXISTS cli_shelves")
        await database.close()


async def test_db_create_uses_the_settings_database_url(tmp_path: Path, project: Path) -> None:
    (project / "settings.py").write_text(
        f"AKSARA = {{'DATABASE_URL': 'sqlite:///{tmp_path / 'from_settings.sqlite3'}'}}\n"
    )
    result = await run_aksara("db", "create", "--models", "shop", cwd=project)
    assert (result.status, result.stderr) == (0, "")
    assert await table_names(f"sqlite:///{tmp_path / 'from_settings.sqlite3'}") >= SHOP_TABLES


def test_db_sql_prints_each_dialect_s_schema(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_project / "shop.py").write_text(SHOP)
    postgres_url = "postgresql://nowhere.invalid/shop"  # `sql` never connects
    for args, auto_key in [
        (["--dialect", "postgresql"], "GENERATED BY DEFAULT AS IDENTITY"),
        (["--database-url", postgres_url], "GENERATED BY DEFAULT AS IDENTITY"),
        (["--dialect", "sqlite"], "AUTOINCREMENT"),
        ([], "AUTOINCREMENT"),  # the settings' default DATABASE_URL is SQLite
    ]:
        assert main(["db", "sql", "--models", "shop", *args]) == 0
        out, err = capsys.readouterr()
        assert err == ""
        statements = [statement.strip() for statement in out.split(";\n")]
        tables = [s.split('"')[1] for s in statements if s.startswith("CREATE TABLE")]
        # Every registered model is printed: here the test suite's too.
        assert tables.index("cli_shelves") < tables.index("cli_books"), "referenced first"
        assert auto_key in out
        assert 'CREATE INDEX IF NOT EXISTS "cli_books_title_idx"' in out
        assert out.endswith(";\n")


async def test_demo_runs_on_a_file_of_its_own(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.sqlite3'}"
    result = await run_aksara("demo", "--database-url", url, cwd=REPO)
    assert (result.status, result.stderr) == (0, "")
    assert "Plan of Post.objects.filter" in result.stdout
    assert {"users", "posts", "comments"} <= await table_names(url)


# The user's mistakes: one line on stderr, exit status 1 ----------------------------------------


async def test_unknown_module_as_the_real_command(tmp_path: Path) -> None:
    result = await run_aksara("db", "create", "--models", "no.such.module", cwd=tmp_path)
    assert result.status == 1
    line = one_error_line(result.stderr)
    assert "No module named 'no.such.module'" in line
    assert "--models myapp.models" in line
    assert result.stdout == ""


@pytest.mark.parametrize("action", ["create", "drop", "sql"])
def test_unknown_module(action: str, in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["db", action, "--models", "no.such.module"]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"No module named 'no.such.module' on the path (searched from {in_project})" in line


def test_module_importing_something_missing(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique_module(in_project, "import not_installed_anywhere\n")
    assert main(["db", "sql", "--models", name]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"Importing {name!r} failed: it imports 'not_installed_anywhere'" in line


@pytest.mark.parametrize(
    ("source", "fragment"),
    [
        ("def broken(:\n", "SyntaxError"),
        ("x = 1\nraise RuntimeError('the settings are wrong')\n", "the settings are wrong"),
    ],
)
def test_module_failing_to_import_is_named_with_the_line(
    source: str, fragment: str, in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = unique_module(in_project, source)
    assert main(["db", "create", "--models", name]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"Importing {name!r} failed: " in line
    assert fragment in line
    assert f"{in_project / name}.py:" in line


def test_invalid_model_definition(in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = (
        "from aksara import Model, fields\n\n\n"
        "class CliOwner(Model):\n"
        "    name = fields.String(max_length=20)\n\n\n"
        "class CliPet(Model):\n"
        "    owner = fields.ForeignKey(CliOwner, on_delete=fields.CASCADE, related_name='pets')\n"
        "    carer = fields.ForeignKey(CliOwner, on_delete=fields.CASCADE, related_name='pets')\n"
    )
    name = unique_module(in_project, source)
    assert main(["db", "sql", "--models", name]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"The models of {name!r} are invalid: " in line
    assert f"{in_project / name}.py:" in line


@pytest.mark.parametrize("module", ["json", "empty"])
def test_module_without_models(
    module: str, in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    name = module if module == "json" else unique_module(in_project, "VALUE = 1\n")
    assert main(["db", "create", "--models", name]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert f"Module {name!r}" in line
    assert "defines no models" in line


@pytest.mark.parametrize(
    "url",
    [
        "mysql://shop:hunter2@localhost/shop",
        "sqlite://relative.sqlite3",
        "postgresql",
    ],
)
def test_bad_database_url(url: str, in_project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (in_project / "shop.py").write_text(SHOP)
    assert main(["db", "create", "--models", "shop", "--database-url", url]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "sqlite:///" in line, "the message shows what a good URL looks like"
    assert "hunter2" not in line


@pytest.mark.parametrize("action", ["create", "drop"])
def test_unreachable_sqlite_file_in_process(
    action: str, in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """asyncio.run() ends right after the failed open: nothing may report back to its loop
    afterwards (a worker thread that did failed the test as an unhandled thread error)."""
    (in_project / "shop.py").write_text(SHOP)
    url = f"sqlite:///{in_project / 'no_such_directory' / 'shop.sqlite3'}"
    assert main(["db", action, "--models", "shop", "--database-url", url]) == 1
    line = one_error_line(capsys.readouterr().err)
    path = in_project / "no_such_directory" / "shop.sqlite3"
    assert f"Cannot open the SQLite database file '{path}'" in line
    assert "check that its directory exists" in line


def test_bad_database_url_in_the_settings(
    in_project: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (in_project / "shop.py").write_text(SHOP)
    settings_module = unique_module(
        in_project, "AKSARA = {'DATABASE_URL': 'oracle://scott:tiger@db/shop'}\n"
    )
    os.environ["AKSARA_SETTINGS_MODULE"] = settings_module
    try:
        aksara.settings.reset()
        assert main(["db", "create", "--models", "shop"]) == 1
    finally:
        del os.environ["AKSARA_SETTINGS_MODULE"]
        aksara.settings.reset()
    line = one_error_line(capsys.readouterr().err)
    assert "DATABASE_URL" in line
    assert "tiger" not in line


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://shop:hunter2@127.0.0.1:1/shop",  # nothing listens on port 1
        "sqlite:////no/such/directory/shop.sqlite3",
    ],
    ids=["postgresql", "sqlite"],
)
@pytest.mark.parametrize("action", ["create", "drop"])
async def test_unreachable_database(action: str, url: str, project: Path) -> None:
    result = await run_aksara("db", action, "--models", "shop", "--database-url", url, cwd=project)
    assert result.status == 1
    line = one_error_line(result.stderr)
    assert "hunter2" not in line
    if url.startswith("postgresql"):
        # What to check, and where it looked, with the password masked.
        assert "Cannot connect to PostgreSQL: nothing answered at 127.0.0.1:1: check that" in line
        assert url.replace("hunter2", "***") in line
    else:
        assert "Cannot open the SQLite database file '/no/such/directory/shop.sqlite3'" in line
        assert "check that its directory exists" in line
