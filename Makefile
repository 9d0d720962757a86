# Aksara's everyday commands. `make demo` and `make test` are the README's quick start.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-stamp

.PHONY: install demo test test-slow lint bench load clean example-migrations

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev,bench]'
	touch $(STAMP)

install: $(STAMP)

# Seed a SQLite blog and serve its API on 127.0.0.1:8000 (the printed demo: aksara demo).
demo: $(STAMP)
	$(BIN)/python -m examples.blog.serve

# pytest exits 5 when it collected no test: that must fail too.
test: $(STAMP)
	@status=0; $(BIN)/python -m pytest $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no tests: failing." >&2; exit 1; fi; \
	exit $$status

# The slow group (pytest -m slow) with bounds small enough for CI: 50 schemathesis cases
# per operation instead of 2,000, a 10 s soak instead of 60 s.
AKSARA_FUZZ_EXAMPLES ?= 50
AKSARA_SOAK_SECONDS ?= 10
test-slow: $(STAMP)
	@status=0; AKSARA_FUZZ_EXAMPLES=$(AKSARA_FUZZ_EXAMPLES) AKSARA_SOAK_SECONDS=$(AKSARA_SOAK_SECONDS) \
		$(BIN)/python -m pytest -m slow $(PYTEST_ARGS) || status=$$?; \
	if [ $$status -eq 5 ]; then echo "pytest collected no slow tests: failing." >&2; exit 1; fi; \
	exit $$status

lint: $(STAMP)
	$(BIN)/ruff check aksara tests examples benchmarks
	$(BIN)/ruff format --check aksara tests examples benchmarks
	$(BIN)/mypy

# Write the blog example's migrations anew from its models (one initial revision), e.g.
# after its models changed: compared with an empty scratch SQLite database.
example-migrations: $(STAMP)
	rm -f examples/blog/migrations/versions/*.py
	rm -f /tmp/aksara-example-migrations.sqlite3
	$(BIN)/aksara makemigrations -m "initial" --path examples/blog/migrations \
		--models examples.blog.models --database-url sqlite:////tmp/aksara-example-migrations.sqlite3
	rm -f /tmp/aksara-example-migrations.sqlite3
	$(BIN)/ruff format --quiet examples/blog/migrations

bench: $(STAMP)
	$(BIN)/python -m benchmarks.bench_orm

# Serve the seeded blog (aksara serve, a free port of 127.0.0.1) and run the guide's locustfile
# headless against it: LOAD_SECONDS (20), LOAD_USERS (20), LOAD_SPAWN_RATE (20), LOAD_WORKERS
# (1); DATABASE_URL to load that database. CSV files and a summary go to load-results/.
load: $(STAMP)
	$(BIN)/python -m examples.blog.load

clean:
	rm -rf $(VENV) *.egg-info .pytest_cache .mypy_cache .ruff_cache demo.sqlite3* blog.sqlite3* load-results
