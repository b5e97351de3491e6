# One Map — the two commands: `make demo` and `make test`.
.PHONY: demo test lint typecheck bench stop clean-db help

help:
	@echo "make demo   set up everything, load the sample Changsha city, serve http://127.0.0.1:8000"
	@echo "make test   set up everything and run the test suite against a throwaway PostGIS"
	@echo "make lint   ruff + mypy"
	@echo "make bench  benchmarks against tipg and raw SQL (see benchmarks/README.md)"
	@echo "make stop   stop the private database cluster"

demo:
	@scripts/bootstrap.sh demo
	@.venv/bin/onemap demo

test:
	@scripts/bootstrap.sh test
	@.venv/bin/pytest -n 2 --dist loadfile

lint:
	@scripts/bootstrap.sh test
	.venv/bin/ruff check .
	.venv/bin/mypy spatial layers ingest analysis cases feed sample tiles api styles import backup benchmarks
	.venv/bin/lint-imports

bench:
	@scripts/bootstrap.sh test
	.venv/bin/python -m benchmarks.run

stop:
	@.venv/bin/onemap db stop
